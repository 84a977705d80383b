package MCPU::Seen;

# Writes an mcpu "last event seen" table (layout: ngx_mcpu_module/mcpu_seen.h)
# from Perl, so t/ files can give the module entries to answer GET with,
# without a batcher or Kafka.  Little-endian 64-bit hosts only, as the C.
#
#   MCPU::Seen::create($path, slots => 64, value_max => 1024);
#   MCPU::Seen::put($path, key => 'c-1', seq => 7, time_ms => 1795467600500,
#                   value => '{"schema":1,...}');
#   MCPU::Seen::put($path, key => 'c-2', ..., writing => 1);  # odd version
#   MCPU::Seen::siphash([$k0, $k1], $bytes);   # = mcpu_siphash()

use strict;
use warnings;
no warnings 'portable';    # 64-bit constants: 64-bit perl only, as the C

use Fcntl qw(SEEK_SET);
use Time::HiRes ();

use constant {
    MAGIC       => 0x4e45455355504d43,    # "MCPUSEEN"
    VERSION     => 1,
    HEADER_SIZE => 4096,
    WAYS        => 8,
    MAX_KEY     => 128,
    SLOT_HEAD   => 48 + 128,              # sizeof(mcpu_seen_slot_t)
    MASK64      => 0xffffffffffffffff,
};

# v0 += v1 and friends: modulo 2^64 (perl is built with -fwrapv)
sub _add { use integer; return ($_[0] + $_[1]) & MASK64 }
sub _rotl { my ($x, $b) = @_; return (($x << $b) | ($x >> (64 - $b))) & MASK64 }

sub _round {
    my ($v) = @_;
    $v->[0] = _add($v->[0], $v->[1]); $v->[1] = _rotl($v->[1], 13); $v->[1] ^= $v->[0];
    $v->[0] = _rotl($v->[0], 32);
    $v->[2] = _add($v->[2], $v->[3]); $v->[3] = _rotl($v->[3], 16); $v->[3] ^= $v->[2];
    $v->[0] = _add($v->[0], $v->[3]); $v->[3] = _rotl($v->[3], 21); $v->[3] ^= $v->[0];
    $v->[2] = _add($v->[2], $v->[1]); $v->[1] = _rotl($v->[1], 17); $v->[1] ^= $v->[2];
    $v->[2] = _rotl($v->[2], 32);
}

# SipHash-2-4 of $data with the key [$k0, $k1], as mcpu_siphash.h
sub siphash {
    my ($k, $data) = @_;
    my $len = length $data;
    my @v = ($k->[0] ^ 0x736f6d6570736575, $k->[1] ^ 0x646f72616e646f6d,
             $k->[0] ^ 0x6c7967656e657261, $k->[1] ^ 0x7465646279746573);

    my $i = 0;
    for (; $i + 8 <= $len; $i += 8) {
        my $m = unpack 'Q<', substr($data, $i, 8);
        $v[3] ^= $m;
        _round(\@v); _round(\@v);
        $v[0] ^= $m;
    }

    my $b = ($len << 56) & MASK64;
    my $tail = substr($data, $i);
    for my $j (0 .. length($tail) - 1) {
        $b |= ord(substr($tail, $j, 1)) << (8 * $j);
    }

    $v[3] ^= $b;
    _round(\@v); _round(\@v);
    $v[0] ^= $b;
    $v[2] ^= 0xff;
    _round(\@v) for 1 .. 4;

    return $v[0] ^ $v[1] ^ $v[2] ^ $v[3];
}

sub _slot_size { my ($value_max) = @_; return (SLOT_HEAD + $value_max + 63) & ~63 }

# A new table at $path (replacing any), complete before it appears: written
# to a temporary file and renamed, as the batcher links its own.
sub create {
    my ($path, %o) = @_;
    my $slots = $o{slots} // 64;
    my $value_max = $o{value_max} // 1024;
    my $key = $o{hash_key} // [map { int(rand(2**32)) << 32 | int(rand(2**32)) } 1, 2];
    my $slot_size = _slot_size($value_max);
    my $file_size = HEADER_SIZE + $slots * $slot_size;

    die "slots must be a power of two" if $slots & ($slots - 1);

    my $hdr = pack 'Q< V V V V Q< Q< Q< Q< V V', MAGIC, VERSION, $slots,
                   $value_max, $slot_size, $file_size, $key->[0], $key->[1],
                   int(Time::HiRes::time() * 1000), 0, 0;
    $hdr .= "\0" x (HEADER_SIZE - length $hdr);

    my $tmp = "$path.tmp$$";
    open my $fh, '>:raw', $tmp or die "cannot create $tmp: $!";
    print $fh $hdr, "\0" x ($slots * $slot_size) or die "$tmp: $!";
    close $fh or die "$tmp: $!";
    rename $tmp, $path or die "cannot rename $tmp to $path: $!";

    return $path;
}

# Stores one client's entry: in its slot if it has one, else in the first
# empty slot of its window.  writing => 1 leaves the version odd, as a
# writer that died in the middle of the update.
sub put {
    my ($path, %e) = @_;
    my $key = $e{key};
    my $value = $e{value} // '';

    open my $fh, '+<:raw', $path or die "cannot open $path: $!";
    my $hdr;
    read($fh, $hdr, 64) == 64 or die "$path is too short";
    my ($magic, $version, $slots, $value_max, $slot_size, undef, $k0, $k1)
        = unpack 'Q< V V V V Q< Q< Q<', $hdr;
    die "$path is not a last-seen table" unless $magic == MAGIC && $version == VERSION;
    die "key over " . MAX_KEY . " bytes" if length $key > MAX_KEY;
    die "value over $value_max bytes" if length $value > $value_max;

    my $hash = siphash([$k0, $k1], $key);
    my ($use, $empty);

    for my $w (0 .. WAYS - 1) {
        my $i = (($hash & ($slots - 1)) + $w) & ($slots - 1);
        my $s;
        seek $fh, HEADER_SIZE + $i * $slot_size, SEEK_SET or die $!;
        read($fh, $s, SLOT_HEAD) == SLOT_HEAD or die "$path is too short";
        my (undef, $key_len) = unpack 'V v', $s;
        if ($key_len == length $key && substr($s, 48, $key_len) eq $key) {
            $use = $i;
            last;
        }
        $empty //= $i if $key_len == 0;
    }

    $use //= $empty // die "the window of $key is full";

    my $slot = pack 'V v v V V q< q< Q< Q< a' . MAX_KEY,
                    $e{writing} ? 3 : 2, length $key, 0, length $value, 0,
                    $e{seq} // -1, $e{time_ms} // 0,
                    int(Time::HiRes::time() * 1000), $hash, $key;

    seek $fh, HEADER_SIZE + $use * $slot_size, SEEK_SET or die $!;
    print $fh $slot, $value or die "$path: $!";
    close $fh or die "$path: $!";

    return $use;
}

1;
