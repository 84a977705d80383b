# Streamed NDJSON: a chunked body (or one longer than mcpu_max_body_size)
# is taken line by line as it arrives, committed as it goes, and answered
# at its end with what was accepted, refused and read ("processed").

# t/lib last: MCPU::Ring from here, the runner from prove -I (ours or the real one)
BEGIN { push @INC, 't/lib' }
use Test::Nginx::Socket 'no_plan';
use IO::Compress::Gzip qw(gzip);
use MCPU::Ring;
use MCPU::Setup;


our $now = time() * 1000;
sub ev { my ($id, $extra) = @_; "{\"type\":\"AppOpened\",\"time\":$now,\"id\":\"$id\"" . ($extra // '') . "}" }

# one HTTP/1.1 chunk, and the head of a chunked NDJSON POST
sub chunk { my ($data) = @_; sprintf("%x\r\n", length $data) . "$data\r\n" }
sub head {
    my ($extra) = @_;
    "POST /event HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
    . "Content-Type: application/x-ndjson\r\nClient-Id: c-1\r\n"
    . "Transfer-Encoding: chunked\r\n" . ($extra // '') . "\r\n"
}
sub gz { my ($in) = @_; my $out; gzip(\$in => \$out) or die; $out }

our $ring = MCPU::Setup::blocks(ring => 'stream.ring',
                                ring_size => 'size=1m lanes=4 max_record=16k');

run_tests();

my @ids = sort map { $_->{value} =~ /"event":\{.*"id":"([^"]+)"/ ? $1 : '?' }
          MCPU::Ring::records($ring);
is_deeply(\@ids, [sort qw(p1 p2 p3 r1 r3 r5 l1 l3 z1 z2 t1 k1 k2 c1)],
          'the ring holds exactly the accepted events of every stream');

__DATA__

=== TEST 1: a stream with a pause in the middle of a line is read as it comes and answered at its end
--- raw_request eval
my $l2 = main::ev('p2');
[ main::head() . main::chunk(main::ev('p1') . "\n" . substr($l2, 0, 20)),
  main::chunk(substr($l2, 20) . "\n" . main::ev('p3') . "\n") . "0\r\n\r\n" ]
--- raw_request_middle_delay: 0.5
--- error_code: 202
--- response_body
{"accepted":3,"processed":3,"refusedTotal":0,"refused":[]}
--- error_log
mcpu: stream of 3 events, 3 accepted, paused 0 times



=== TEST 2: refused lines are named by index, blank lines are no event, the last line needs no newline
--- raw_request eval
main::head() . main::chunk(CORE::join("\n", main::ev('r1'), '{"type":"AppOpened","seq":4}',
    '', "  \r", main::ev('r3'), '{"type":', main::ev('r5'))) . "0\r\n\r\n"
--- error_code: 202
--- response_body
{"accepted":3,"processed":5,"refusedTotal":2,"refused":[{"index":1,"seq":4,"error":"missing_time","detail":"field \"time\" is required"},{"index":3,"seq":null,"error":"bad_json","detail":"unexpected token near end of file at line 1 column 8"}]}



=== TEST 3: an NDJSON body longer than mcpu_max_body_size with a Content-Length is streamed, not refused
--- config
location = /event { mcpu_ingest; mcpu_max_body_size 200; }
--- more_headers
Content-Type: application/x-ndjson
Client-Id: c-1
--- request eval
"POST /event\n" . CORE::join("\n", main::ev('l1'), main::ev('l2', ',"pad":"' . ('x' x 300) . '"'), main::ev('l3')) . "\n"
--- error_code: 202
--- response_body
{"accepted":2,"processed":3,"refusedTotal":1,"refused":[{"index":1,"seq":null,"error":"record_too_large","detail":"the line exceeds mcpu_max_body_size"}]}



=== TEST 4: a gzip stream is inflated as it comes
--- raw_request eval
my $z = main::gz(main::ev('z1') . "\n" . main::ev('z2') . "\n");
[ main::head("Content-Encoding: gzip\r\n") . main::chunk(substr($z, 0, 10)),
  main::chunk(substr($z, 10)) . "0\r\n\r\n" ]
--- raw_request_middle_delay: 0.2
--- error_code: 202
--- response_body
{"accepted":2,"processed":2,"refusedTotal":0,"refused":[]}



=== TEST 5: a gzip stream cut short keeps the events before the cut and answers 400 bad_gzip
--- raw_request eval
my $z = main::gz(main::ev('t1') . "\n" . main::ev('t2'));
main::head("Content-Encoding: gzip\r\n") . main::chunk(substr($z, 0, length($z) - 12)) . "0\r\n\r\n"
--- error_code: 400
--- response_body
{"error":"bad_gzip","detail":"the gzip body ends early","accepted":1,"processed":1,"refusedTotal":0,"refused":[]}



=== TEST 6: a stream whose chunked encoding breaks keeps the events before and answers 400 bad_body
--- raw_request eval
[ main::head() . main::chunk(main::ev('k1') . "\n" . main::ev('k2') . "\n"),
  "zz\r\nnot a chunk\r\n0\r\n\r\n" ]
--- raw_request_middle_delay: 0.2
--- error_code: 400
--- response_body
{"error":"bad_body","detail":"the body could not be read: its chunked encoding is broken","accepted":2,"processed":2,"refusedTotal":0,"refused":[]}



=== TEST 7: a stream broken in its first bytes is refused whole with 400 bad_body
--- raw_request eval
main::head() . "zz\r\nnot a chunk\r\n0\r\n\r\n"
--- error_code: 400
--- response_body
{"error":"bad_body","detail":"the body could not be read: its chunked encoding is broken","accepted":0,"processed":0,"refusedTotal":0,"refused":[]}



=== TEST 8: a stream of only blank lines holds no event
--- raw_request eval
main::head() . main::chunk("\n\n  \n") . "0\r\n\r\n"
--- error_code: 400
--- response_body
{"error":"empty_batch","detail":"the stream holds no event","accepted":0,"processed":0,"refusedTotal":0,"refused":[]}



=== TEST 9: a stream over client_max_body_size is cut with 413, the events before it kept
--- config
location = /event { mcpu_ingest; client_max_body_size 1k; }
--- raw_request eval
[ main::head() . main::chunk(main::ev('c1') . "\n"),
  main::chunk('x' x 2000) . "0\r\n\r\n" ]
--- raw_request_middle_delay: 0.2
--- error_code: 413
--- response_body
{"error":"body_too_large","detail":"the stream exceeds client_max_body_size","accepted":1,"processed":1,"refusedTotal":0,"refused":[]}
