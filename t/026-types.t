# The optional fields of the brief's types, and types an operator allows
# beyond them (mcpu_event_type_allow), each with a bounded "attributes".

# t/lib last: MCPU::Ring from here, the runner from prove -I (ours or the real one)
BEGIN { push @INC, 't/lib' }
use Test::Nginx::Socket 'no_plan';
use MCPU::Ring;
use MCPU::Setup;


our $now = time() * 1000;
sub ev { my ($type, $extra) = @_; "{\"type\":\"$type\",\"time\":$now" . ($extra // '') . "}" }

our $ring = MCPU::Setup::blocks(ring => 'types.ring');

run_tests();

my @types = sort map { $_->{value} =~ /^\{"schema":1,"type":"(\w+)"/ ? $1 : '?' }
            MCPU::Ring::records($ring);
is_deeply(\@types, [sort qw(CpuMeasurement FileTransferProgress IndexingStarted)],
          'only the accepted events are in the ring');

__DATA__

=== TEST 1: a CpuMeasurement with the process's own share is accepted, one over 100 refused
--- request eval
[ "POST /event\n" . main::ev('CpuMeasurement', ',"usage":{"0":50},"process":12.5'),
  "POST /event\n" . main::ev('CpuMeasurement', ',"usage":{"0":50},"process":101') ]
--- error_code eval
[202, 400]
--- response_body eval
[ "{\"accepted\":1}\n",
  "{\"error\":\"bad_field\",\"detail\":\"field \\\"process\\\" must be a percentage 0..100\"}\n" ]



=== TEST 2: progress bytes are accepted up to the total, refused past it
--- request eval
[ "POST /event\n" . main::ev('FileTransferProgress', ',"transferId":"t","bytesDone":5,"bytesTotal":9'),
  "POST /event\n" . main::ev('FileTransferProgress', ',"transferId":"t","bytesDone":10,"bytesTotal":9') ]
--- error_code eval
[202, 400]
--- response_body eval
[ "{\"accepted\":1}\n",
  "{\"error\":\"bad_field\",\"detail\":\"field \\\"bytesDone\\\" exceeds \\\"bytesTotal\\\"\"}\n" ]



=== TEST 3: a type beyond the brief's is refused by default
--- request eval
"POST /event\n" . main::ev('IndexingStarted')
--- error_code: 400
--- response_body
{"error":"unknown_type","detail":"unknown event type \"IndexingStarted\""}



=== TEST 4: an allowed extra type is accepted with an attributes object, refused with another value
--- config
    location = /event { mcpu_ingest; mcpu_event_type_allow IndexingStarted IndexingDone; }
--- request eval
[ "POST /event\n" . main::ev('IndexingStarted', ',"attributes":{"files":1200}'),
  "POST /event\n" . main::ev('IndexingDone', ',"attributes":"many"') ]
--- error_code eval
[202, 400]
--- response_body eval
[ "{\"accepted\":1}\n",
  "{\"error\":\"bad_field\",\"detail\":\"field \\\"attributes\\\" must be an object of at most 64 members\"}\n" ]



=== TEST 5: an extra type name that is not letters and digits stops nginx
--- config
    location = /event { mcpu_ingest; mcpu_event_type_allow Bad-Name; }
--- must_die
--- error_log
invalid event type "Bad-Name": letters and digits, starting with a letter, at most 64



=== TEST 6: a built-in type cannot be allowed again
--- config
    location = /event { mcpu_ingest; mcpu_event_type_allow AppOpened; }
--- must_die
--- error_log
"AppOpened" is a built-in event type
