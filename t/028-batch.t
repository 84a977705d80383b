# Batches: a JSON array or NDJSON body.  Each event is judged on its own,
# the valid ones are enqueued together, and the answer names every refused
# one by index (and seq) with its reason.  A batch the ring cannot take
# whole gets 503 and leaves nothing in the ring.

# t/lib last: MCPU::Ring from here, the runner from prove -I (ours or the real one)
BEGIN { push @INC, 't/lib' }
use Test::Nginx::Socket 'no_plan';
use MCPU::Ring;
use MCPU::Setup;


our $now = time() * 1000;
sub ev { my ($id, $extra) = @_; "{\"type\":\"AppOpened\",\"time\":$now,\"id\":\"$id\"" . ($extra // '') . "}" }

our $ring = MCPU::Setup::blocks(ring => 'batch.ring', ring_size => 'size=256k lanes=4 max_record=16k');

run_tests();

my @ids = sort map { $_->{value} =~ /"event":\{.*"id":"([^"]+)"/ ? $1 : '?' }
          MCPU::Ring::records($ring);
is_deeply(\@ids, [sort qw(a1 a2 a3 b1 b3 n1 n3 s1 s2)],
          'the ring holds exactly the accepted events of every batch');

__DATA__

=== TEST 1: a JSON array of valid events is accepted whole
--- request eval
"POST /event\n[" . CORE::join(',', main::ev('a1'), main::ev('a2'), main::ev('a3')) . "]"
--- error_code: 202
--- response_body
{"accepted":3,"refused":[]}



=== TEST 2: the valid events of a batch are enqueued, the refused one is named with its index and seq
--- request eval
"POST /event\n[" . CORE::join(',', main::ev('b1'), '{"type":"AppOpened","seq":7,"id":"b2"}', main::ev('b3')) . "]"
--- error_code: 202
--- response_body
{"accepted":2,"refused":[{"index":1,"seq":7,"error":"missing_time","detail":"field \"time\" is required"}]}



=== TEST 3: a batch whose every event is refused gets 400 with the list
--- request eval
"POST /event\n[" . CORE::join(',', '{"type":"Nope","time":1}', '[1]') . "]"
--- error_code: 400
--- response_body
{"accepted":0,"refused":[{"index":0,"seq":null,"error":"unknown_type","detail":"unknown event type \"Nope\""},{"index":1,"seq":null,"error":"not_an_object","detail":"an event is a JSON object"}]}



=== TEST 4: an NDJSON body is one event per line, blank lines skipped
--- more_headers
Content-Type: application/x-ndjson
Client-Id: c-1
--- request eval
"POST /event\n" . CORE::join("\n", main::ev('n1'), '{"type":', '', main::ev('n3')) . "\n"
--- error_code: 202
--- response_body_like chomp
^\{"accepted":2,"refused":\[\{"index":1,"seq":null,"error":"bad_json","detail":"[^"]+"\}\]\}$



=== TEST 5: commas and brackets inside strings do not split an array element
--- request eval
"POST /event\n[" . main::ev('s1', ',"note":"a,b]c}\\"[{"') . ", " . main::ev('s2') . "]"
--- error_code: 202
--- response_body
{"accepted":2,"refused":[]}



=== TEST 6: a broken array is refused whole, nothing of it enqueued
--- request eval
[ "POST /event\n[" . main::ev('x1') . ",]",
  "POST /event\n[" . main::ev('x2'),
  "POST /event\n[" . main::ev('x3') . "] trailing" ]
--- error_code eval
[400, 400, 400]
--- response_body eval
[ ("{\"error\":\"bad_json\",\"detail\":\"the batch is not a well-formed JSON array\"}\n") x 3 ]



=== TEST 7: an empty batch is refused
--- request eval
[ "POST /event\n[ ]", "POST /event\n[]" ]
--- error_code eval
[400, 400]
--- response_body eval
[ ("{\"error\":\"empty_batch\",\"detail\":\"the batch holds no event\"}\n") x 2 ]



=== TEST 8: a batch the lane cannot take whole gets 503 and enqueues none of it
--- config
    location = /event { mcpu_ingest; mcpu_max_body_size 1m; mcpu_retry_after 1s; }
--- request eval
"POST /event\n[" . CORE::join(',', map { main::ev("big$_", ',"pad":[' . CORE::join(',', ('"' . ('x' x 4000) . '"') x 3) . ']') } 1 .. 10) . "]"
--- error_code: 503
--- response_headers
Retry-After: 1
--- response_body
{"error":"ring_full","detail":"the event queue is full, retry later"}
