# POST /event: a valid event is answered 202 and enqueued; every refusal has
# its status and a JSON body naming the problem, and leaves nothing in the
# ring (checked by reading the ring file after the blocks ran).

# t/lib last: MCPU::Ring from here, the runner from prove -I (ours or the real one)
BEGIN { push @INC, 't/lib' }
use Test::Nginx::Socket 'no_plan';
use Cwd qw(cwd);
use File::Temp qw(tempdir);
use MCPU::Ring;

$ENV{TEST_NGINX_MCPU_MODULE} ||= cwd() . '/build/ngx_http_mcpu_module.so';
$ENV{TEST_NGINX_RING_DIR} ||= tempdir(CLEANUP => 1);

repeat_each(2);

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('main_config',
                      "load_module $ENV{TEST_NGINX_MCPU_MODULE};\n"
                      . ($block->main_config // ''));

    # every block writes into one ring outside the servroot, so that the
    # checks after run_tests() see what all of them enqueued
    $block->set_value('http_config',
                      "mcpu_ring $ENV{TEST_NGINX_RING_DIR}/ingest.ring "
                      . "size=1m lanes=4 max_record=64k;\n"
                      . "mcpu_node test-node;\n"
                      # these blocks are not about time bounds (t/025-time.t is)
                      . "mcpu_event_max_age 100y;\n"
                      . ($block->http_config // ''))
        unless $block->http_config && $block->http_config =~ /mcpu_ring/;

    $block->set_value('config', "location = /event { mcpu_ingest; }\n")
        unless defined $block->config;

    $block->set_value('more_headers', "Content-Type: application/json\n"
                                      . "Client-Id: c-1\n")
        unless defined $block->more_headers;
});

run_tests();

# 202 blocks below x repeat_each: each left exactly one record, refusals none
my @records = MCPU::Ring::records("$ENV{TEST_NGINX_RING_DIR}/ingest.ring");
my @accepted = grep { /"event":\{.*"accept-me":true/ } map { $_->{value} } @records;
is(scalar @records, 7 * repeat_each(), 'only accepted events are in the ring');
is(scalar @accepted, scalar @records, 'every record in the ring is an accepted one');
my ($cpu) = grep { $_->{value} =~ /"type":"CpuMeasurement"/ } @records;
like($cpu->{value},
     qr/^\{"schema":1,"type":"CpuMeasurement","time":"2026-11-23T21:00:00\.500Z","timeMs":1795467600500,"seq":null,"receivedAt":"[-0-9T:.]+Z","receivedAtMs":\d+,"sentAt":null,"sentAtMs":null,"skewMs":null,"node":"test-node","client":\{"id":"c-1","version":"6\.04","os":"Windows","osVersion":"10\.0\.19045"\},"event":\{"type":"CpuMeasurement",/,
     'the record carries the normalised time, receive time, node and client metadata');
is($cpu->{key}, 'c-1', 'the record is keyed by the client id');

__DATA__

=== TEST 1: a valid CpuMeasurement is accepted with 202 and a JSON body
--- more_headers
Content-Type: application/json
Client-Id: c-1
Client-Version: 6.04
Client-Os: Windows
Os-Version: 10.0.19045
--- request
POST /event
{"type":"CpuMeasurement","time":"2026-11-23T22:00:00.5+01:00","usage":{"0":12.5,"1":80},"accept-me":true}
--- error_code: 202
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1}
--- no_error_log
[error]



=== TEST 2: time as epoch milliseconds and a charset parameter are accepted
--- more_headers
Content-Type: application/json; charset=utf-8
Client-Id: c-1
--- request
POST /event
{"type":"AppOpened","time":1795467600500,"accept-me":true}
--- error_code: 202
--- response_body
{"accepted":1}



=== TEST 3: a CpuSummary with every required field is accepted
--- request
POST /event
{"type":"CpuSummary","time":1795467600500,"start":"2026-11-23T21:00:00Z","end":"2026-11-23T21:01:00Z","observations":100,"average":{"0":21.5,"1":19.2},"variance":{"0":0.34,"1":0.2},"accept-me":true}
--- error_code: 202



=== TEST 4: each file transfer event with a transferId is accepted
--- request eval
[ map { "POST /event\n{\"type\":\"$_\",\"time\":1,\"transferId\":\"t-9\",\"accept-me\":true}" }
  qw(FileTransferStarted FileTransferProgress FileTransferCompleted) ]
--- error_code eval
[202, 202, 202]



=== TEST 5: a body larger than client_body_buffer_size (in a temp file) is read whole
--- config
    client_body_buffer_size 1k;
    location = /event { mcpu_ingest; }
--- request eval
"POST /event\n{\"type\":\"AppClosed\",\"time\":1,\"accept-me\":true,\"note\":\"" . ("n" x 4000) . "\"}"
--- error_code: 202
--- no_error_log
[error]



=== TEST 6: DELETE is refused with 405 and Allow: GET, HEAD, POST
--- request
DELETE /event
--- error_code: 405
--- response_headers
Allow: GET, HEAD, POST
Content-Type: application/json
--- response_body
{"error":"method_not_allowed","detail":"events are sent with POST, the last one seen is read with GET"}



=== TEST 7: a content type other than JSON is refused with 415
--- more_headers
Content-Type: text/plain
Client-Id: c-1
--- request
POST /event
{"type":"AppOpened","time":1}
--- error_code: 415
--- response_body
{"error":"unsupported_media_type","detail":"Content-Type must be application/json or application/x-ndjson"}



=== TEST 8: an event without Client-Id is refused with 400
--- more_headers
Content-Type: application/json
--- request
POST /event
{"type":"AppOpened","time":1}
--- error_code: 400
--- response_body
{"error":"missing_client_id","detail":"the Client-Id header is required"}



=== TEST 9: a Client-Id with a space is refused with 400
--- more_headers
Content-Type: application/json
Client-Id: c 1
--- request
POST /event
{"type":"AppOpened","time":1}
--- error_code: 400
--- response_body
{"error":"bad_header","detail":"the Client-Id header must be 1 to 128 visible ASCII characters"}



=== TEST 10: a body that is not JSON is refused with 400 and jansson's reason
--- request
POST /event
{"type":
--- error_code: 400
--- response_body_like chomp
^\{"error":"bad_json","detail":".+ at line 1 column \d+"\}$
--- error_log
mcpu: event refused, bad_json



=== TEST 11: a JSON value that is not an object is not an event
--- request
POST /event
"AppOpened"
--- error_code: 400
--- response_body
{"error":"not_an_object","detail":"an event is a JSON object"}



=== TEST 12: an event without type is refused
--- request
POST /event
{"time":1}
--- error_code: 400
--- response_body
{"error":"missing_type","detail":"field \"type\" is required and must be a string"}



=== TEST 13: an unknown type is refused and its quoted name is escaped in the body
--- request
POST /event
{"type":"Cpu\"Meas","time":1}
--- error_code: 400
--- response_body
{"error":"unknown_type","detail":"unknown event type \"Cpu\"Meas\""}



=== TEST 14: an event without time is refused
--- request
POST /event
{"type":"AppOpened"}
--- error_code: 400
--- response_body
{"error":"missing_time","detail":"field \"time\" is required"}



=== TEST 15: a time that is not RFC 3339 is refused
--- request
POST /event
{"type":"AppOpened","time":"23/11/2026 22:00"}
--- error_code: 400
--- response_body
{"error":"bad_time","detail":"field \"time\" must be an RFC 3339 time or integer epoch milliseconds"}



=== TEST 16: a CpuMeasurement with a core over 100 percent is refused
--- request
POST /event
{"type":"CpuMeasurement","time":1,"usage":{"0":150}}
--- error_code: 400
--- response_body
{"error":"bad_field","detail":"field \"usage\" must be an object of 1 to 1024 cores, each a percentage 0..100"}



=== TEST 17: a transfer event without transferId is refused
--- request
POST /event
{"type":"FileTransferStarted","time":1}
--- error_code: 400
--- response_body
{"error":"missing_field","detail":"field \"transferId\" is required for type \"FileTransferStarted\""}



=== TEST 18: duplicate keys are refused
--- request
POST /event
{"type":"AppOpened","time":1,"time":2}
--- error_code: 400
--- response_body_like chomp
^\{"error":"bad_json","detail":"duplicate object key



=== TEST 19: a body over mcpu_max_body_size is refused with 413 before it is read
--- config
    location = /event { mcpu_ingest; mcpu_max_body_size 100; }
--- request eval
"POST /event\n{\"type\":\"AppOpened\",\"time\":1,\"x\":\"" . ("y" x 200) . "\"}"
--- error_code: 413
--- response_body
{"error":"body_too_large","detail":"the body exceeds mcpu_max_body_size"}



=== TEST 20: a chunked body over mcpu_max_body_size is refused with 413
--- config
    location = /event { mcpu_ingest; mcpu_max_body_size 100; }
--- more_headers
Content-Type: application/json
Client-Id: c-1
Transfer-Encoding: chunked
--- request eval
my $b = "{\"type\":\"AppOpened\",\"time\":1,\"x\":\"" . ("y" x 200) . "\"}";
"POST /event\n" . sprintf("%x\r\n%s\r\n0\r\n\r\n", length $b, $b)
--- error_code: 413
--- response_body
{"error":"body_too_large","detail":"the body exceeds mcpu_max_body_size"}



=== TEST 21: an empty body is refused as bad JSON
--- more_headers
Content-Type: application/json
Client-Id: c-1
Content-Length: 0
--- request
POST /event
--- error_code: 400
--- response_body
{"error":"bad_json","detail":"the body is empty"}
