# GET /event: the client's last event seen, as the batcher stored it in the
# last-seen table once Kafka acknowledged it.  Each block writes the table
# it needs (MCPU::Seen, at the default path: the ring's path + ".seen")
# before its requests; nginx's worker maps it on the first GET.

# t/lib last: MCPU::* from here, the runner from prove -I (ours or the real one)
BEGIN { push @INC, 't/lib' }
use Test::Nginx::Socket 'no_plan';
use Digest::SHA qw(hmac_sha256);
use File::Temp qw(tempdir);
use MIME::Base64 qw(encode_base64url);
use MCPU::Seen;
use MCPU::Setup;

# a block titled "... mcpu_last_seen ..." names its table with the directive
# (added first, so it runs after MCPU::Setup's, which sets http_config)
add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config',
                      $block->http_config . "mcpu_last_seen html/last.seen;\n")
        if $block->name =~ /\bmcpu_last_seen\b/;
});

our $ring = MCPU::Setup::blocks(ring => 'seen.ring');
our $seen = "$ring.seen";

# the record the batcher produced for $client's event number $seq
sub rec {
    my ($client, $seq) = @_;
    my $ms = 1795467600000 + $seq;
    return qq({"schema":1,"type":"AppOpened","time":"2026-11-23T21:00:00.${\ sprintf '%03d', $seq}Z",)
         . qq("timeMs":$ms,"seq":$seq,"receivedAt":"2026-11-23T21:00:01.000Z","receivedAtMs":1795467601000,)
         . qq("sentAt":null,"sentAtMs":null,"skewMs":null,"node":"test-node",)
         . qq("client":{"id":"$client","version":null,"os":null,"osVersion":null},)
         . qq("event":{"type":"AppOpened","time":$ms,"seq":$seq}});
}

# a new table at $path holding the given clients' entries
sub table {
    my ($path, @entries) = @_;
    MCPU::Seen::create($path);
    for my $e (@entries) {
        my ($client, $seq, %o) = @$e;
        MCPU::Seen::put($path, key => $client, seq => $seq,
                        time_ms => 1795467600000 + $seq,
                        value => $o{value} // rec($client, $seq), %o);
    }
}

# an HS256 token for $sub, signed with the secret in $TEST_NGINX_SEEN_DIR
our ($dir, $secret);

BEGIN {
    $dir = $ENV{TEST_NGINX_SEEN_DIR} = tempdir(CLEANUP => 1);
    $secret = 'a-secret-of-at-least-32-bytes-for-hs256';
    open my $fh, '>', "$dir/hs256.secret" or die $!;
    print $fh "$secret\n";
    close $fh;
}

sub bearer {
    my ($sub) = @_;
    my $data = encode_base64url('{"alg":"HS256","typ":"JWT"}') . '.'
             . encode_base64url(qq({"sub":"$sub","exp":) . (time() + 3600) . '}');
    return "Authorization: Bearer $data." . encode_base64url(hmac_sha256($data, $secret)) . "\n";
}

repeat_each(2);

run_tests();

__DATA__

=== TEST 1: GET answers 200 with the record stored for the Client-Id
--- init
main::table($main::seen, ['c-1', 7], ['c-2', 9]);
--- request
GET /event
--- error_code: 200
--- response_headers
Content-Type: application/json
Cache-Control: no-store
--- response_body eval
main::rec('c-1', 7) . "\n"
--- no_error_log
[error]



=== TEST 2: a client without an entry gets 404 and a JSON body
--- init
main::table($main::seen, ['c-2', 9]);
--- request
GET /event
--- error_code: 404
--- response_headers
Content-Type: application/json
Cache-Control: no-store
--- response_body
{"error":"not_found","detail":"Kafka has acknowledged no event of this client (or it was evicted): resend everything"}
--- no_error_log
[error]



=== TEST 3: a client id that only starts like a stored one is not found
--- init
main::table($main::seen, ['c-1', 7], ['c-10', 8]);
--- request eval
["GET /event", "GET /event", "GET /event"]
--- more_headers eval
["Client-Id: c-10\n", "Client-Id: c-100\n", "Client-Id: c-\n"]
--- error_code eval
[200, 404, 404]
--- response_body_like eval
[qr/^\{"schema":1,.*"client":\{"id":"c-10",.*"seq":8\}\}\n\z/,
 qr/^\{"error":"not_found","detail":"[^"]+"\}\n\z/,
 qr/^\{"error":"not_found","detail":"[^"]+"\}\n\z/]



=== TEST 4: no table yet (the batcher has not created it): 503 with Retry-After
--- init
unlink $main::seen;
--- request
GET /event
--- error_code: 503
--- response_headers
Retry-After: 1
Content-Type: application/json
!Cache-Control
--- response_body
{"error":"last_seen_unavailable","detail":"the last-seen table does not exist yet, retry later"}



=== TEST 5: a missing table is looked for at most once a second, not per request
--- init
unlink $main::seen;
--- pipelined_requests eval
["GET /event", "GET /event", "GET /event", "GET /event"]
--- error_code eval
[503, 503, 503, 503]
--- grep_error_log: does not exist yet
--- grep_error_log_out eval
qr/^(?:does not exist yet\n){0,2}\z/



=== TEST 6: JWT: the sub's entry is answered; a Client-Id that differs is 403
--- config
    location = /event {
        mcpu_ingest;
        mcpu_jwt_key $TEST_NGINX_SEEN_DIR/hs256.secret alg=HS256;
    }
--- init
main::table($main::seen, ['jwt-client', 3], ['c-1', 7]);
--- request eval
["GET /event", "GET /event", "GET /event", "GET /event"]
--- more_headers eval
[main::bearer('jwt-client'),
 main::bearer('jwt-client') . "Client-Id: jwt-client\n",
 main::bearer('jwt-client') . "Client-Id: c-1\n",
 "Client-Id: c-1\n"]
--- error_code eval
[200, 200, 403, 401]
--- response_body eval
[main::rec('jwt-client', 3) . "\n",
 main::rec('jwt-client', 3) . "\n",
 qq({"error":"client_id_mismatch","detail":"the Client-Id header differs from the token's sub"}\n),
 qq({"error":"missing_token","detail":"an Authorization: Bearer token is required"}\n)]



=== TEST 7: HEAD answers the GET's status and headers without a body
--- init
main::table($main::seen, ['c-1', 7]);
--- request eval
["HEAD /event", "HEAD /event"]
--- more_headers eval
["Client-Id: c-1\n", "Client-Id: c-9\n"]
--- error_code eval
[200, 404]
--- response_headers eval
["Content-Type: application/json\nCache-Control: no-store\nContent-Length: "
 . (length(main::rec('c-1', 7)) + 1),
 "Content-Type: application/json\nCache-Control: no-store"]
--- response_body eval
["", ""]



=== TEST 8: a method other than GET, HEAD and POST is refused with 405
--- request
DELETE /event
--- error_code: 405
--- response_headers
Allow: GET, HEAD, POST
--- response_body_like
^\{"error":"method_not_allowed","detail":"[^"]+"\}$



=== TEST 9: the body of a GET is read and discarded: the connection goes on
--- init
main::table($main::seen, ['c-1', 7]);
--- pipelined_requests eval
["GET /event\n{\"type\":\"AppOpened\",\"time\":1}", "GET /event"]
--- error_code eval
[200, 200]
--- response_body eval
[main::rec('c-1', 7) . "\n", main::rec('c-1', 7) . "\n"]



=== TEST 10: an entry the writer is in the middle of (odd version) is 503, not torn
--- init
main::table($main::seen, ['c-1', 7, writing => 1]);
--- request
GET /event
--- error_code: 503
--- response_headers
Retry-After: 1
--- response_body
{"error":"last_seen_unavailable","detail":"the entry is being updated, retry later"}
--- error_log
mcpu_last_seen: the slots of "c-1" kept changing



=== TEST 11: a GET without Client-Id, or with one no event could carry, is 400
--- request eval
["GET /event", "GET /event"]
--- more_headers eval
["", "Client-Id: c 1\n"]
--- error_code eval
[400, 400]
--- response_body eval
[qq({"error":"missing_client_id","detail":"the Client-Id header is required"}\n),
 qq({"error":"bad_header","detail":"the Client-Id header must be 1 to 128 visible ASCII characters"}\n)]



=== TEST 12: a stored value that already ends the line gets no second newline
--- init
main::table($main::seen, ['c-1', 7, value => main::rec('c-1', 7) . "\n"]);
--- request
GET /event
--- error_code: 200
--- response_body eval
main::rec('c-1', 7) . "\n"



=== TEST 13: mcpu_last_seen names the table, relative to the prefix
--- init
unlink $main::seen;
main::table(server_root() . '/html/last.seen', ['c-1', 5]);
--- request
GET /event
--- error_code: 200
--- response_body eval
main::rec('c-1', 5) . "\n"
--- no_error_log
[error]
