# When the worker's lane of the ring is full, events are refused with 503,
# Retry-After and a JSON body, never dropped silently.

# t/lib last: MCPU::Ring from here, the runner from prove -I (ours or the real one)
BEGIN { push @INC, 't/lib' }
use Test::Nginx::Socket 'no_plan';
use Cwd qw(cwd);
use IO::Socket::INET;

$ENV{TEST_NGINX_MCPU_MODULE} ||= cwd() . '/build/ngx_http_mcpu_module.so';

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('main_config',
                      "load_module $ENV{TEST_NGINX_MCPU_MODULE};\n");
    $block->set_value('more_headers', "Content-Type: application/json\n"
                                      . "Client-Id: c-1\n");
});

sub big_event {
    my ($size) = @_;
    # strings are limited to 4096 bytes: the padding is an array of them
    my @pad = map { '"' . ('x' x 1000) . '"' } 1 .. int($size / 1000);
    return '{"type":"AppOpened","time":' . time() * 1000 . ',"pad":['
           . join(',', @pad) . ']}';
}

sub post_event {
    my ($size) = @_;
    my $body = big_event($size);
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => server_port())
        or die "connect: $!\n";
    print $sock "POST /event HTTP/1.1\r\nHost: localhost\r\n"
        . "Connection: close\r\nContent-Type: application/json\r\n"
        . "Client-Id: c-1\r\nContent-Length: " . length($body)
        . "\r\n\r\n$body";
    my ($status) = (scalar <$sock>) =~ m{^HTTP/1\.\d (\d+)};
    close $sock;
    return $status;
}

run_tests();

__DATA__

=== TEST 1: a full lane answers 503 with Retry-After and a JSON body
--- http_config
    mcpu_ring $TEST_NGINX_SERVER_ROOT/logs/ring size=256k lanes=4 max_record=32k;
--- config
    location = /event { mcpu_ingest; mcpu_retry_after 7s; }
--- init
# three 20 KB events fill the worker's 64 KB lane (nothing drains it)
for (1 .. 3) {
    my $status = main::post_event(20000);
    die "filling the lane: got $status instead of 202\n" unless $status == 202;
}
--- request eval
"POST /event\n" . main::big_event(20000)
--- error_code: 503
--- response_headers
Retry-After: 7
Content-Type: application/json
--- response_body
{"error":"ring_full","detail":"the event queue is full, retry later"}
--- error_log
mcpu: ring lane full, event refused with 503



=== TEST 2: a record over the ring's max_record is refused with 413
--- http_config
    mcpu_ring $TEST_NGINX_SERVER_ROOT/logs/ring size=256k lanes=4 max_record=1k;
--- config
    location = /event { mcpu_ingest; }
--- request eval
"POST /event\n" . main::big_event(2000)
--- error_code: 413
--- response_body
{"error":"record_too_large","detail":"the record would exceed 1024 bytes"}



=== TEST 3: with no batcher draining the lane, the automatic Retry-After is its maximum
--- http_config
    mcpu_ring $TEST_NGINX_SERVER_ROOT/logs/ring size=256k lanes=4 max_record=32k;
--- config
    location = /event { mcpu_ingest; mcpu_retry_after auto max=15s; }
--- init
for (1 .. 3) {
    my $status = main::post_event(20000);
    die "filling the lane: got $status instead of 202\n" unless $status == 202;
}
--- request eval
"POST /event\n" . main::big_event(20000)
--- error_code: 503
--- response_headers
Retry-After: 15



=== TEST 4: max= goes with auto only, and a retry time is at least 1s
--- http_config
    mcpu_ring $TEST_NGINX_SERVER_ROOT/logs/ring size=256k lanes=4;
--- config
    location = /a { mcpu_ingest; mcpu_retry_after 5s max=10s; }
--- must_die
--- error_log
"mcpu_retry_after" directive takes max= only with "auto"

