# mcpu_status: the host's figures in Prometheus's text format.  The
# module's counters after a few accepted and refused requests, the ring's
# lanes, and the batcher's figures, which the tests write into the ring
# header as a batcher would.  Each block starts a fresh nginx with a fresh
# ring, so its counters start from 0.

# t/lib last: MCPU::* from here, the runner from prove -I (ours or the real one)
BEGIN { push @INC, 't/lib' }
use Test::Nginx::Socket 'no_plan';
use Cwd qw(cwd);
use Digest::SHA qw(hmac_sha256);
use File::Temp qw(tempdir);
use MIME::Base64 qw(encode_base64url);
use Time::HiRes ();
use MCPU::Seen;

our $now = time() * 1000;
our ($dir, $secret);

BEGIN {
    $ENV{TEST_NGINX_MCPU_MODULE} ||= cwd() . '/build/ngx_http_mcpu_module.so';
    $dir = $ENV{TEST_NGINX_STATUS_DIR} = tempdir(CLEANUP => 1);
    $secret = 'a-secret-of-at-least-32-bytes-for-hs256';
    open my $fh, '>', "$dir/hs256.secret" or die $!;
    print $fh "$secret\n";
    close $fh;
}

# the ring of the running block, fresh with its servroot
sub ring { "$ENV{TEST_NGINX_SERVER_ROOT}/logs/status.ring" }

sub ev { my ($extra) = @_; "{\"type\":\"AppOpened\",\"time\":$now" . ($extra // '') . "}" }

sub chunked { my $b = join '', map { "$_\n" } @_; sprintf("%x\r\n", length $b) . "$b\r\n0\r\n\r\n" }

# an HS256 token whose payload is the given claims
sub token {
    my ($claims) = @_;
    my $data = encode_base64url('{"alg":"HS256","typ":"JWT"}') . '.' . encode_base64url($claims);
    return "$data." . encode_base64url(hmac_sha256($data, $secret));
}

# a body pattern: each of the given lines is in it, whole
sub lines { '(?ms)\A' . join '', map { "(?=.*^\Q$_\E\$)" } @_ }

# what a batcher writes into the ring header (mcpu_ring.h): its pid, flags
# and heartbeat on line 1, its counters on line 2
sub batcher {
    my (%b) = @_;
    open my $fh, '+<:raw', ring() or die "cannot open the ring: $!";
    seek $fh, 64, 0;
    print $fh pack 'V V Q<', $b{pid}, $b{flags}, $b{heartbeat_ms};
    seek $fh, 128, 0;
    print $fh pack 'Q<5', map { $_ // 0 } @b{qw(produced acked delivery_errors in_flight resent)};
    close $fh;
}

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('main_config', "load_module $ENV{TEST_NGINX_MCPU_MODULE};\n");
    $block->set_value('http_config', '    mcpu_ring $TEST_NGINX_SERVER_ROOT/logs/status.ring'
                                     . " size=256k lanes=4;\n" . ($block->http_config // ''))
        unless defined $block->must_die;
    $block->set_value('config', "location = /event { mcpu_ingest; }\n"
                                . "location = /metrics { mcpu_status; }\n")
        unless defined $block->config;
    $block->set_value('more_headers', "Content-Type: application/json\nClient-Id: c-1\n")
        unless defined $block->more_headers;
});

run_tests();

__DATA__

=== TEST 1: accepted events and refusals are counted by reason, single and batched
--- request eval
[ "POST /event\n" . main::ev(),
  "POST /event\n" . '{"type":"AppOpened"}',
  "POST /event\n" . main::ev(),
  "POST /event\n[" . main::ev() . ',{"type":"Nope","time":1},' . main::ev() . ']',
  "GET /metrics" ]
--- more_headers eval
[ "Content-Type: application/json\nClient-Id: c-1\n",
  "Content-Type: application/json\nClient-Id: c-1\n",
  "Content-Type: text/plain\nClient-Id: c-1\n",
  "Content-Type: application/json\nClient-Id: c-1\n",
  "" ]
--- error_code eval
[202, 400, 415, 202, 200]
--- response_body_like eval
[ 'accepted', 'missing_time', 'unsupported_media_type', 'unknown_type',
  main::lines('mcpu_events_accepted_total 3',
              'mcpu_events_refused_total{reason="missing_time"} 1',
              'mcpu_events_refused_total{reason="unknown_type"} 1',
              'mcpu_events_refused_total{reason="bad_json"} 0',
              'mcpu_error_responses_total{error="missing_time"} 1',
              'mcpu_error_responses_total{error="unsupported_media_type"} 1',
              'mcpu_error_responses_total{error="unknown_type"} 0',
              'mcpu_error_responses_total{error="ring_full"} 0',
              'mcpu_ring_lane_published_total{lane="0"} 3',
              'mcpu_ring_lane_released_total{lane="0"} 0') ]
--- no_error_log
[error]



=== TEST 2: the page is Prometheus text 0.0.4: HELP and TYPE for every family, then its samples
--- request
GET /metrics
--- response_headers
Content-Type: text/plain; version=0.0.4; charset=utf-8
--- response_body_like eval
'\A(?:# HELP (mcpu_\w+) [^\n]+\n# TYPE \1 (?:counter|gauge)\n(?:\1(?:\{\w+="\w+"\})? -?\d+(?:\.\d{3})?\n)*)+\z'
--- no_error_log
[error]



=== TEST 3: the ring's size, fill and oldest record, per lane and in all
--- request eval
[ "POST /event\n" . main::ev(), "POST /event\n" . main::ev(), "GET /metrics" ]
--- more_headers eval
[ "Content-Type: application/json\nClient-Id: c-1\n",
  "Content-Type: application/json\nClient-Id: c-1\n", "" ]
--- error_code eval
[202, 202, 200]
--- response_body_like eval
[ 'accepted', 'accepted',
  main::lines('mcpu_ring_capacity_bytes 262144', 'mcpu_ring_lanes 4',
              'mcpu_ring_lane_capacity_bytes{lane="3"} 65536',
              'mcpu_ring_lane_used_bytes{lane="1"} 0',
              'mcpu_ring_lane_oldest_unreleased_age_seconds{lane="1"} 0.000',
              'mcpu_ring_lane_owner_pid{lane="1"} 0',
              'mcpu_ring_lane_full_total{lane="0"} 0')
  . '(?=.*^mcpu_ring_used_bytes ([1-9]\d*)$.*^mcpu_ring_lane_used_bytes\{lane="0"\} \1$)'
  . '(?=.*^mcpu_ring_oldest_unreleased_age_seconds [0-2]\.\d{3}$)'
  . '(?=.*^mcpu_ring_lane_oldest_unreleased_age_seconds\{lane="0"\} [0-2]\.\d{3}$)'
  . '(?=.*^mcpu_ring_lane_owner_pid\{lane="0"\} [1-9]\d*$)' ]
--- no_error_log
[error]



=== TEST 4: POST on the status location is 405 with Allow
--- request
POST /metrics
x
--- error_code: 405
--- response_headers
Allow: GET, HEAD



=== TEST 5: HEAD answers the headers alone
--- request
HEAD /metrics
--- response_headers
Content-Type: text/plain; version=0.0.4; charset=utf-8
--- raw_response_headers_like: Content-Length: [1-9]\d+\r\n
--- response_body eval
""



=== TEST 6: a status location in another server shows the events of the ingest server
--- http_config
    server {
        listen $TEST_NGINX_SERVER_PORT;
        server_name status.internal;
        location = /metrics { mcpu_status; }
    }
--- config
    location = /event { mcpu_ingest; }
--- request eval
[ "POST /event\n" . main::ev(), "GET /metrics" ]
--- more_headers eval
[ "Content-Type: application/json\nClient-Id: c-1\n", "Host: status.internal\n" ]
--- error_code eval
[202, 200]
--- response_body_like eval
[ 'accepted', main::lines('mcpu_events_accepted_total 1') ]
--- no_error_log
[error]



=== TEST 7: a stream counts each accepted and each refused line
--- request eval
[ "POST /event\n" . main::chunked(main::ev(), main::ev(), '{"type":"AppOpened"}', main::ev()),
  "GET /metrics" ]
--- more_headers eval
[ "Content-Type: application/x-ndjson\nClient-Id: c-1\nTransfer-Encoding: chunked\n", "" ]
--- error_code eval
[202, 200]
--- response_body_like eval
[ '"accepted":3,"processed":4',
  main::lines('mcpu_events_accepted_total 3',
              'mcpu_events_refused_total{reason="missing_time"} 1',
              'mcpu_error_responses_total{error="missing_time"} 0',
              'mcpu_ring_lane_published_total{lane="0"} 3') ]
--- no_error_log
[error]



=== TEST 8: tokens are counted by the reason they were refused
--- config
    location = /event { mcpu_ingest; mcpu_jwt_key $TEST_NGINX_STATUS_DIR/hs256.secret alg=HS256; }
    location = /metrics { mcpu_status; }
--- request eval
[ "POST /event\n" . main::ev(), "POST /event\n" . main::ev(), "POST /event\n" . main::ev(),
  "POST /event\n" . main::ev(), "GET /metrics" ]
--- more_headers eval
[ "Content-Type: application/json\n",
  "Content-Type: application/json\nAuthorization: Bearer not-a-token\n",
  "Content-Type: application/json\nAuthorization: Bearer "
      . main::token('{"sub":"c-1","exp":' . (time() - 60) . '}') . "\n",
  "Content-Type: application/json\nAuthorization: Bearer "
      . main::token('{"sub":"c-1","exp":' . (time() + 600) . '}') . "\n",
  "" ]
--- error_code eval
[401, 401, 401, 202, 200]
--- response_body_like eval
[ 'missing_token', 'malformed', 'expired', 'accepted',
  main::lines('mcpu_error_responses_total{error="missing_token"} 1',
              'mcpu_error_responses_total{error="invalid_token"} 2',
              'mcpu_tokens_refused_total{reason="malformed"} 1',
              'mcpu_tokens_refused_total{reason="expired"} 1',
              'mcpu_tokens_refused_total{reason="bad_signature"} 0',
              'mcpu_events_accepted_total 1') ]



=== TEST 9: GET of the last event seen: 200s and 404s are counted
--- init
MCPU::Seen::create(main::ring() . '.seen');
MCPU::Seen::put(main::ring() . '.seen', key => 'c-1', seq => 1, time_ms => $main::now,
                value => '{"schema":1}');
--- request eval
[ "GET /event", "GET /event", "GET /metrics" ]
--- more_headers eval
[ "Client-Id: c-1\n", "Client-Id: c-2\n", "" ]
--- error_code eval
[200, 404, 200]
--- response_body_like eval
[ 'schema', 'not_found',
  main::lines('mcpu_last_seen_found_total 1', 'mcpu_error_responses_total{error="not_found"} 1') ]
--- no_error_log
[error]



=== TEST 10: the batcher's figures come from the ring header
--- init
main::batcher(pid => $$, flags => 1, heartbeat_ms => int(Time::HiRes::time() * 1000),
              produced => 7, acked => 5, delivery_errors => 2, in_flight => 2, resent => 3);
--- request
GET /metrics
--- response_body_like eval
main::lines('mcpu_batcher_up 1', "mcpu_batcher_pid $$", 'mcpu_batcher_kafka_up 1',
            'mcpu_batcher_produced_total 7', 'mcpu_batcher_acked_total 5',
            'mcpu_batcher_delivery_errors_total 2', 'mcpu_batcher_in_flight 2',
            'mcpu_batcher_resent_total 3')
    . '(?=.*^mcpu_batcher_heartbeat_age_seconds [0-2]\.\d{3}$)'
--- no_error_log
[error]



=== TEST 11: a batcher that lost Kafka says 0
--- init
main::batcher(pid => $$, flags => 0, heartbeat_ms => int(Time::HiRes::time() * 1000));
--- request
GET /metrics
--- response_body_like eval
main::lines('mcpu_batcher_up 1', 'mcpu_batcher_kafka_up 0')



=== TEST 12: a batcher that has not learned Kafka's state yet says -1
--- init
main::batcher(pid => $$, flags => 2, heartbeat_ms => int(Time::HiRes::time() * 1000));
--- request
GET /metrics
--- response_body_like eval
main::lines('mcpu_batcher_up 1', 'mcpu_batcher_kafka_up -1')



=== TEST 13: a batcher silent for a minute is not up, and Kafka's state is unknown
--- init
main::batcher(pid => $$, flags => 1, heartbeat_ms => int(Time::HiRes::time() * 1000) - 60000);
--- request
GET /metrics
--- response_body_like eval
main::lines('mcpu_batcher_up 0', "mcpu_batcher_pid $$", 'mcpu_batcher_kafka_up -1')
    . '(?=.*^mcpu_batcher_heartbeat_age_seconds 6\d\.\d{3}$)'



=== TEST 14: without a batcher: not up, Kafka unknown, no heartbeat
--- request
GET /metrics
--- response_body_like eval
main::lines('mcpu_batcher_up 0', 'mcpu_batcher_pid 0', 'mcpu_batcher_kafka_up -1',
            'mcpu_batcher_produced_total 0')
    . '(?!.*^mcpu_batcher_heartbeat_age_seconds )'



=== TEST 15: mcpu_status without mcpu_ring stops nginx
--- config
    location = /metrics { mcpu_status; }
--- must_die
--- error_log
[emerg]
"mcpu_status" needs "mcpu_ring" in the http block
