package MCPU::Ring;

# Reads an mcpu ring file (layout: ngx_mcpu_module/mcpu_ring.h) from Perl,
# so t/ files can check what the module enqueued.  Read-only; records that
# the batcher already released are not returned.

use strict;
use warnings;

use constant {
    HEADER_SIZE => 512,
    LANE_SIZE   => 192,
    REC_SIZE    => 16,
    REC_EVENT   => 1,
    REC_PAD     => 2,
    REC_MAGIC   => 0x6d637075,
};

# Returns { published, released, unreleased_bytes } summed over the lanes.
sub counters {
    my ($path) = @_;

    open my $fh, '<:raw', $path or die "cannot open ring $path: $!";
    my $head;
    read($fh, $head, HEADER_SIZE) == HEADER_SIZE or die "$path is too short";
    my (undef, undef, undef, $lanes) = unpack 'a8 V V V', $head;
    my %c = (published => 0, released => 0, unreleased_bytes => 0);

    for my $lane (0 .. $lanes - 1) {
        my $l;
        read($fh, $l, LANE_SIZE) == LANE_SIZE or die "$path is too short";
        my ($p_tail, $p_seq) = unpack 'Q< Q<', substr($l, 64, 16);
        my ($c_head, $c_seq) = unpack 'Q< Q<', substr($l, 128, 16);
        $c{published} += $p_seq;
        $c{released} += $c_seq;
        $c{unreleased_bytes} += $p_tail - $c_head;
    }

    close $fh;
    return \%c;
}

# Returns a list of { lane, key, value } for the unreleased records.
sub records {
    my ($path) = @_;

    open my $fh, '<:raw', $path or die "cannot open ring $path: $!";
    local $/;
    my $file = <$fh>;
    close $fh;

    my ($magic, $version, undef, $lanes, undef, $lane_size, $data_offset)
        = unpack 'a8 V V V V Q< Q<', $file;
    die "$path is not an mcpu ring" unless $magic eq 'MCPURING' && $version == 1;

    my @out;
    for my $lane (0 .. $lanes - 1) {
        my $l = HEADER_SIZE + $lane * LANE_SIZE;
        my $p_tail = unpack 'Q<', substr($file, $l + 64, 8);
        my $c_head = unpack 'Q<', substr($file, $l + 128, 8);
        my $base = $data_offset + $lane * $lane_size;

        for (my $pos = $c_head; $pos < $p_tail; ) {
            my $off = $pos % $lane_size;
            my ($size, $type, $key_len, $seq, $check)
                = unpack 'V v v V V', substr($file, $base + $off, REC_SIZE);
            die "lane $lane: bad record at $pos"
                unless $check == ($size ^ $seq ^ (($type << 16) | $key_len) ^ REC_MAGIC);
            if ($type == REC_EVENT) {
                my $body = substr($file, $base + $off + REC_SIZE, $size - REC_SIZE);
                push @out, { lane => $lane, key => substr($body, 0, $key_len),
                             value => substr($body, $key_len) };
            }
            $pos += ($size + 15) & ~15;
        }
    }

    return @out;
}

1;
