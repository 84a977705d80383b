# The schema of every event type, from a table: README "Events" says which
# fields each type requires or allows and what they hold.  Per type, one
# block sends the valid event, the event without each optional field
# (accepted), without each required field (missing_field; missing_time for
# "time") and with each field wrong, by JSON type or by range (bad_field;
# bad_time, bad_seq).  Every refusal is a 400 whose detail names the field.
# Fields no type defines are kept as sent in the record's "event".
# After the blocks, the ring holds exactly the accepted events, each as sent.

# t/lib last: MCPU::Ring from here, the runner from prove -I (ours or the real one)
BEGIN { push @INC, 't/lib' }
use Test::Nginx::Socket 'no_plan';
use JSON::PP ();
use MCPU::Ring;
use MCPU::Setup;


# every event is "now": these blocks are not about time bounds (t/025-time.t is)
our $now = int(time()) * 1000 + 250;

# RFC 3339 for $ms, at an offset of $off minutes (undef: "Z"), with the
# fraction digits $frac (undef: none)
sub iso {
    my ($ms, $off, $frac) = @_;
    my @t = gmtime(int($ms / 1000) + ($off // 0) * 60);
    sprintf("%04d-%02d-%02dT%02d:%02d:%02d", $t[5] + 1900, $t[4] + 1, @t[3, 2, 1, 0])
        . (defined $frac ? ".$frac" : '')
        . (defined $off ? sprintf('%s%02d:%02d', $off < 0 ? '-' : '+', abs($off) / 60, abs($off) % 60)
                        : 'Z');
}


# ---- the table -------------------------------------------------------------
#
# Per type, its fields in order: name => { valid => JSON text, optional => 1,
# wrong => [JSON texts], missing => code, bad => code }.  Every type also has
# "time" (required) and "seq" (optional), the fields of README "Events".

our @Common = (
    time => { valid => $now, missing => 'missing_time', bad => 'bad_time',
              # wrong type; a real, not integer ms; not RFC 3339
              wrong => ['true', "$now.5", '"yesterday"'] },
);
our @Seq = (
    seq => { optional => 1, bad => 'bad_seq', wrong => ['"7"', '-1'] },
);

sub transfer_id { # transferId: a string of 1 to 128 bytes
    (transferId => { valid => "\"t-$_[0]\"",
                     wrong => ['""', '"' . ('t' x 129) . '"', '42', 'null', '["t"]'] });
}

our @Types = (
    CpuMeasurement => [
        usage => { valid => '{"0":0,"1":12.5,"2":100}',
                   wrong => ['"12.5"', '[12.5]', '{}', '{"0":"12.5"}',
                             '{"0":-0.5}', '{"0":100.5}'] },
        process => { optional => 1, valid => '3.5',
                     wrong => ['"3.5"', 'null', '-0.5', '100.5'] },
    ],
    CpuSummary => [
        # start as RFC 3339, end as epoch ms: both forms are times
        start => { valid => '"' . iso($now - 60000) . '"',
                   wrong => ['true', '"' . substr(iso($now), 0, 10) . '"', "$now.5"] },
        end => { valid => $now,
                 wrong => ['{"ms":1}', '"23/11/2026 22:00"'] },
        observations => { valid => '60',
                          wrong => ['"60"', '0', '-1', '2.5'] },
        average => { valid => '{"0":21.5,"1":100}',
                     wrong => ['[21.5]', '{}', '{"0":null}', '{"0":-1}', '{"0":100.5}'] },
        # a number >= 0, not a percentage: 250.75 is fine
        variance => { valid => '{"0":0,"1":250.75}',
                      wrong => ['"0.3"', '{}', '{"0":"0.3"}', '{"0":-0.01}'] },
    ],
    FileTransferStarted => [ transfer_id('started') ],
    FileTransferProgress => [
        transfer_id('progress'),
        bytesDone => { optional => 1, valid => '512', wrong => ['"512"', '-1', '512.5'] },
        bytesTotal => { optional => 1, valid => '1024', wrong => ['"1024"', '-1', 'true'] },
    ],
    FileTransferCompleted => [ transfer_id('completed') ],
    AppOpened => [],
    AppClosed => [],
);
our %Types = @Types;

# Beyond the generated cases: [accepted label, {field => JSON or undef to drop}]
# and [refused label, {...}, error, name in the detail].
our %More = (
    FileTransferStarted => {
        accept => [ [ '128 bytes in 64 characters',
                      { transferId => '"' . ("\xc3\xa9" x 64) . '"' } ] ],
        refuse => [ [ '130 bytes in 65 characters',
                      { transferId => '"' . ("\xc3\xa9" x 65) . '"' }, 'bad_field', 'transferId' ] ],
    },
    FileTransferProgress => {
        accept => [ [ 'done equal to total', { bytesDone => '1024', bytesTotal => '1024' } ],
                    [ 'nothing done yet', { bytesDone => '0' } ],
                    [ 'done without total', { bytesDone => '99999', bytesTotal => undef } ] ],
        refuse => [ [ 'done over total', { bytesDone => '1025' }, 'bad_field', 'bytesDone' ] ],
    },
);

# Blocks of cases written out: [label, type, {fields}, error or 202, name, time ms]
our %Lists = (
    'unknown fields' => [
        [ 'nested unknown fields', 'AppOpened',
          { note => '"x"', extra => '{"a":[1,2.5,{"b":null}],"c":true,"d":""}' }, 202 ],
        [ "other types' fields, not checked here", 'AppClosed',
          { usage => '"busy"', transferId => '42', bytesDone => '-5', process => '500' }, 202 ],
        [ 'a field differing from usage by case', 'CpuMeasurement',
          { usage => '{"0":1}', Usage => '{"0":200}' }, 202 ],
        [ 'transferID is not transferId', 'FileTransferCompleted',
          { transferId => undef, transferID => '"t-1"' }, 'missing_field', 'transferId' ],
        [ 'a type differing by case', 'cpuMeasurement',
          { usage => '{"0":1}' }, 'unknown_type', 'cpuMeasurement' ],
        [ 'a type that is not a string', '42', {}, 'missing_type', 'type' ],
    ],
    'time and seq' => [
        [ 'RFC 3339 with milliseconds', 'AppOpened',
          { time => '"' . iso($now, undef, '250') . '"' }, 202, undef, $now ],
        [ 'RFC 3339 with an offset and one fraction digit', 'AppOpened',
          { time => '"' . iso($now, 60, '5') . '"' }, 202, undef, $now - 250 + 500 ],
        [ 'RFC 3339 with a negative offset, no fraction', 'AppOpened',
          { time => '"' . iso($now, -330) . '"' }, 202, undef, $now - 250 ],
        [ 'RFC 3339 with six fraction digits', 'AppOpened',
          { time => '"' . iso($now, undef, '125000') . '"' }, 202, undef, $now - 250 + 125 ],
        [ 'seq 0', 'AppOpened', { seq => '0' }, 202 ],
        [ 'seq 2^53', 'AppOpened', { seq => '9007199254740992' }, 202 ],
        [ 'a date without time', 'AppOpened',
          { time => '"' . substr(iso($now), 0, 10) . '"' }, 'bad_time', 'time' ],
        [ 'a time without zone', 'AppOpened',
          { time => '"' . substr(iso($now), 0, 19) . '"' }, 'bad_time', 'time' ],
        [ 'February 29 of a year that is not leap', 'AppOpened',
          { time => '"2025-02-29T00:00:00Z"' }, 'bad_time', 'time' ],
        [ 'epoch ms as a string', 'AppOpened', { time => "\"$now\"" }, 'bad_time', 'time' ],
        [ 'time null', 'AppOpened', { time => 'null' }, 'bad_time', 'time' ],
        [ 'seq 2^53 + 1', 'AppOpened', { seq => '9007199254740993' }, 'bad_seq', 'seq' ],
        [ 'seq not integer', 'AppOpened', { seq => '1.5' }, 'bad_seq', 'seq' ],
        [ 'seq null', 'AppOpened', { seq => 'null' }, 'bad_seq', 'seq' ],
    ],
);


# ---- cases, requests and expectations ------------------------------------

our $Seq = 1000;     # a distinct seq for every event that does not set one
our %Cases;          # memo: the bodies must not change between sections

# The body: type, the type's fields in table order with the overrides (undef
# drops a field), the fields only the overrides name, then a "probe" that
# names the case (an unknown field like any other).
sub body {
    my ($type, $over, $probe) = @_;
    my @f = (@Common, @{ $Types{$type} // [] }, @Seq);
    my (@out, %seen);
    while (my ($name, $spec) = splice @f, 0, 2) {
        $seen{$name} = 1;
        my $v = exists $over->{$name} ? $over->{$name}
              : $name eq 'seq' ? $Seq++ : $spec->{valid};
        push @out, [$name, $v] if defined $v;
    }
    push @out, map { [$_, $over->{$_}] } grep { !$seen{$_} && defined $over->{$_} } sort keys %$over;
    my $type_json = $type =~ /^\d+$/ ? $type : "\"$type\"";
    return "{\"type\":$type_json," . join('', map { "\"$_->[0]\":$_->[1]," } @out)
           . '"probe":' . JSON::PP->new->allow_nonref->encode($probe) . '}';
}

# [probe, body, error or 202, name the detail quotes, event time in ms]
sub cases {
    my ($key) = @_;
    return $Cases{$key} if $Cases{$key};
    my @c;
    my $add = sub {
        my ($label, $type, $over, $code, $name, $ms) = @_;
        my $probe = "$key: $label";
        push @c, [$probe, body($type, $over, $probe), $code, $name, $ms // $now];
    };

    if (my $list = $Lists{$key}) {
        $add->($_->[0], $_->[1], @$_[2 .. $#$_]) for @$list;
        return $Cases{$key} = \@c;
    }

    die "no type $key in the table\n" unless $Types{$key};
    my @f = (@Common, @{ $Types{$key} }, @Seq);
    my @names = map { $f[2 * $_] } 0 .. $#f / 2;
    my %spec = @f;

    $add->('whole', $key, {}, 202);
    for my $n (grep { $spec{$_}{optional} } @names) {
        $add->("without $n", $key, { $n => undef }, 202);
    }
    $add->($_->[0], $key, $_->[1], 202) for @{ $More{$key}{accept} // [] };
    for my $n (grep { !$spec{$_}{optional} } @names) {
        $add->("without $n", $key, { $n => undef }, $spec{$n}{missing} // 'missing_field', $n);
    }
    for my $n (@names) {
        my $i = 0;
        $add->("$n wrong #" . ++$i, $key, { $n => $_ }, $spec{$n}{bad} // 'bad_field', $n)
            for @{ $spec{$n}{wrong} };
    }
    $add->($_->[0], $key, @$_[1 .. 3]) for @{ $More{$key}{refuse} // [] };
    return $Cases{$key} = \@c;
}

sub requests { [ map { "POST /event\n$_->[1]" } @{ cases($_[0]) } ] }
sub codes    { [ map { $_->[2] eq '202' ? 202 : 400 } @{ cases($_[0]) } ] }

# 202: {"accepted":1}.  A refusal: its error code, and a detail (any
# sentence) quoting the name of the field at fault.
sub bodies {
    my $str = q{(?:[^"\\\\]|\\\\.)*};      # the inside of a JSON string
    [ map {
        $_->[2] eq '202' ? '\A\{"accepted":1\}\n\z'
        : '\A\{"error":"' . $_->[2] . '","detail":"' . $str . quotemeta(qq{\\"$_->[3]\\"})
          . $str . '"\}\n\z'
      } @{ cases($_[0]) } ];
}


our $ring = MCPU::Setup::blocks(ring => 'fields.ring');

run_tests();


# ---- the ring: exactly the accepted events, each as it was sent ----------

my $json = JSON::PP->new->utf8;
# an event as canonical JSON, numbers as numbers: jansson writes 0.34 as
# 0.34000000000000002, JSON::PP reads both to the same double
my $canon = JSON::PP->new->utf8->canonical;
my @keys = ((map { $Types[2 * $_] } 0 .. $#Types / 2), sort keys %Lists);
my %want = map { $_->[0] => $_ } grep { $_->[2] eq '202' } map { @{ cases($_) } } @keys;
my %refused = map { $_->[0] => 1 } grep { $_->[2] ne '202' } map { @{ cases($_) } } @keys;

my (%got, @stray);
for my $r (MCPU::Ring::records($ring)) {
    my $rec = eval { $json->decode($r->{value}) };
    my $probe = ref $rec eq 'HASH' && ref $rec->{event} eq 'HASH' ? $rec->{event}{probe} : undef;
    if (!defined $probe) {
        push @stray, $r->{value};
        next;
    }
    push @{ $got{$probe} }, [$r, $rec];
}

is_deeply([ sort grep { $refused{$_} || !$want{$_} } keys %got ], [],
          'no refused event, and nothing unknown, is in the ring');
is_deeply([ sort map { ($_) x @{ $got{$_} } } grep { $want{$_} } keys %got ],
          [ sort map { ($_) x repeat_each() } keys %want ],
          'every accepted event is in the ring, once per repeat');
is_deeply(\@stray, [], 'every record is JSON holding an event with its probe');

for my $probe (sort keys %want) {
    my ($r, $rec) = @{ $got{$probe}[0] // next };
    my $sent = $json->decode($want{$probe}[1]);
    is_deeply({ key => $r->{key}, type => $rec->{type}, timeMs => $rec->{timeMs},
                seq => $rec->{seq}, event => $canon->encode($rec->{event}) },
              { key => 'c-1', type => $sent->{type}, timeMs => $want{$probe}[4],
                seq => $sent->{seq}, event => $canon->encode($sent) },
              "the record of \"$probe\" has its type, time, seq and the event as sent");
}

__DATA__

=== TEST 1: a CpuMeasurement is accepted whole and without each optional field, refused without each required field and with each field wrong
--- request eval
main::requests('CpuMeasurement')
--- error_code eval
main::codes('CpuMeasurement')
--- response_body_like eval
main::bodies('CpuMeasurement')



=== TEST 2: a CpuSummary is accepted whole and without each optional field, refused without each required field and with each field wrong
--- request eval
main::requests('CpuSummary')
--- error_code eval
main::codes('CpuSummary')
--- response_body_like eval
main::bodies('CpuSummary')



=== TEST 3: a FileTransferStarted is accepted whole, without each optional field and with a transferId of 128 bytes in 64 characters, refused without each required field, with each field wrong and with 130 bytes in 65 characters
--- request eval
main::requests('FileTransferStarted')
--- error_code eval
main::codes('FileTransferStarted')
--- response_body_like eval
main::bodies('FileTransferStarted')



=== TEST 4: a FileTransferProgress is accepted whole, without each optional field and with bytesDone up to bytesTotal, refused without each required field, with each field wrong and with bytesDone over bytesTotal
--- request eval
main::requests('FileTransferProgress')
--- error_code eval
main::codes('FileTransferProgress')
--- response_body_like eval
main::bodies('FileTransferProgress')



=== TEST 5: a FileTransferCompleted is accepted whole and without each optional field, refused without each required field and with each field wrong
--- request eval
main::requests('FileTransferCompleted')
--- error_code eval
main::codes('FileTransferCompleted')
--- response_body_like eval
main::bodies('FileTransferCompleted')



=== TEST 6: an AppOpened is accepted whole and without each optional field, refused without time and with each field wrong
--- request eval
main::requests('AppOpened')
--- error_code eval
main::codes('AppOpened')
--- response_body_like eval
main::bodies('AppOpened')



=== TEST 7: an AppClosed is accepted whole and without each optional field, refused without time and with each field wrong
--- request eval
main::requests('AppClosed')
--- error_code eval
main::codes('AppClosed')
--- response_body_like eval
main::bodies('AppClosed')



=== TEST 8: fields a type does not define are accepted unchecked and kept, a required field or a type misspelt by case is not found
--- request eval
main::requests('unknown fields')
--- error_code eval
main::codes('unknown fields')
--- response_body_like eval
main::bodies('unknown fields')



=== TEST 9: time is accepted as RFC 3339 with any offset and fraction, seq from 0 to 2^53; other times and seqs are refused
--- request eval
main::requests('time and seq')
--- error_code eval
main::codes('time and seq')
--- response_body_like eval
main::bodies('time and seq')
