# JWT at the edge: every supported algorithm is accepted, every kind of bad
# token is refused with 401 and RFC 6750's WWW-Authenticate, a Client-Id
# that disagrees with sub with 403, and nothing refused reaches the ring.
# Keys and tokens are made for this run by build/mcpu-token.

# t/lib last: MCPU::Ring from here, the runner from prove -I (ours or the real one)
BEGIN { push @INC, 't/lib' }
use Test::Nginx::Socket 'no_plan';
use Cwd qw(cwd);
use File::Temp qw(tempdir);
use MCPU::Ring;

our (%tok, $dir);

BEGIN {
    my $top = cwd();
    $ENV{TEST_NGINX_MCPU_MODULE} ||= "$top/build/ngx_http_mcpu_module.so";
    $ENV{TEST_NGINX_RING_DIR} ||= tempdir(CLEANUP => 1);
    $dir = $ENV{TEST_NGINX_JWT_DIR} = tempdir(CLEANUP => 1);

    my $token = "$top/build/mcpu-token";
    my $run = sub {
        my $out = `$token @_ 2>&1`;
        die "mcpu-token @_: $out" if $?;
        chomp $out;
        return $out;
    };

    for my $alg (qw(HS256 HS384 HS512 ES256 ES384 ES512)) {
        $run->("--gen-key $alg --out $dir/" . lc $alg);
    }
    $run->("--gen-key RS256 --out $dir/rsa");
    $run->("--gen-key RS256 --out $dir/rsa-other");

    # one RSA key pair serves RS256, RS384 and RS512: each directive binds
    # the file to one algorithm
    my %sign = (HS256 => 'hs256.secret', HS384 => 'hs384.secret',
                HS512 => 'hs512.secret', RS256 => 'rsa.key', RS384 => 'rsa.key',
                RS512 => 'rsa.key', ES256 => 'es256.key', ES384 => 'es384.key',
                ES512 => 'es512.key');
    for my $alg (sort keys %sign) {
        $tok{$alg} = $run->("--key $dir/$sign{$alg} --alg $alg --sub client-\L$alg");
    }

    $run->("--jwks --key $dir/es256.pub --alg ES256 --kid ec-1"
           . " --key $dir/rsa.pub --alg RS256 --kid rsa-1 > $dir/keys.jwks");
    $tok{jwks_rsa} = $run->("--key $dir/rsa.key --alg RS256 --kid rsa-1 --sub via-jwks");
    $tok{jwks_ec} = $run->("--key $dir/es256.key --alg ES256 --kid ec-1 --sub via-jwks-ec");
    $tok{unknown_kid} = $run->("--key $dir/rsa.key --alg RS256 --kid rsa-9 --sub c");

    $tok{none} = $run->("--alg none --sub c");
    $tok{rs_for_hs} = $run->("--key $dir/rsa.key --alg RS256 --sub c");
    $tok{hs_with_rsa_pem} = $run->("--key $dir/rsa.pub --alg HS256 --sub c");
    $tok{other_key} = $run->("--key $dir/rsa-other.key --alg RS256 --sub c");
    $tok{expired} = $run->("--key $dir/hs256.secret --alg HS256 --sub c --exp -30");
    $tok{not_yet} = $run->("--key $dir/hs256.secret --alg HS256 --sub c --nbf 600");
    $tok{no_exp} = $run->("--key $dir/hs256.secret --alg HS256 --sub c --no-exp");
    $tok{iss_aud} = $run->("--key $dir/hs256.secret --alg HS256 --sub c-iss"
                           . " --iss https://id.example --aud mcpu");
    $tok{client_a} = $run->("--key $dir/hs256.secret --alg HS256 --sub client-a");
    $tok{client_b} = $run->("--key $dir/hs256.secret --alg HS256 --sub client-b");

    open my $fh, '>', "$dir/short.secret" or die $!;
    print $fh "too-short\n";
    close $fh;

    # 'A' and 'E' differ in the last character's significant bits only, so
    # the signature stays canonical base64url whatever it ended with
    (my $bad = $tok{HS256}) =~ s/(.)$/$1 eq 'A' ? 'E' : 'A'/e;
    $tok{bad_signature} = $bad;
}

sub auth { "Authorization: Bearer $tok{$_[0]}\n" }

repeat_each(1);

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('main_config',
                      "load_module $ENV{TEST_NGINX_MCPU_MODULE};\n");

    $block->set_value('http_config',
                      "mcpu_ring $ENV{TEST_NGINX_RING_DIR}/jwt.ring "
                      . "size=1m lanes=4;\nmcpu_event_max_age 100y;\n"
                      . ($block->http_config // ''));

    $block->set_value('config', <<"CONF") unless defined $block->config;
    location = /event {
        mcpu_ingest;
        mcpu_jwt_key $dir/hs256.secret alg=HS256;
        mcpu_jwt_key $dir/rsa.pub alg=RS256;
    }
CONF

    $block->set_value('request', "POST /event\n{\"type\":\"AppOpened\",\"time\":1}")
        unless defined $block->request;
});

run_tests();

# every 202 above left one record keyed by its token's sub, refusals none
my @records = MCPU::Ring::records("$ENV{TEST_NGINX_RING_DIR}/jwt.ring");
my @keys = sort map { $_->{key} } @records;
is_deeply(\@keys, [sort qw(client-a client-b client-es256 client-es384
                          client-es512 client-hs256 client-hs256 client-hs384
                          client-hs512 client-rs256 client-rs384 client-rs512
                          c-iss no-token-needed via-jwks via-jwks-ec c)],
          'the ring holds exactly the accepted events, keyed by sub');
is(scalar(grep { $_->{value} !~ /"client":\{"id":"\Q$_->{key}\E"/ } @records), 0,
   'each record carries the sub as its client id');

__DATA__

=== TEST 1: a valid token of every supported algorithm is accepted
--- config
    location = /event {
        mcpu_ingest;
        mcpu_jwt_key $TEST_NGINX_JWT_DIR/hs256.secret alg=HS256;
        mcpu_jwt_key $TEST_NGINX_JWT_DIR/hs384.secret alg=HS384;
        mcpu_jwt_key $TEST_NGINX_JWT_DIR/hs512.secret alg=HS512;
        mcpu_jwt_key $TEST_NGINX_JWT_DIR/rsa.pub alg=RS256;
        mcpu_jwt_key $TEST_NGINX_JWT_DIR/rsa.pub alg=RS384;
        mcpu_jwt_key $TEST_NGINX_JWT_DIR/rsa.pub alg=RS512;
        mcpu_jwt_key $TEST_NGINX_JWT_DIR/es256.pub alg=ES256;
        mcpu_jwt_key $TEST_NGINX_JWT_DIR/es384.pub alg=ES384;
        mcpu_jwt_key $TEST_NGINX_JWT_DIR/es512.pub alg=ES512;
    }
--- request eval
[ ("POST /event\n{\"type\":\"AppOpened\",\"time\":1}") x 9 ]
--- more_headers eval
[ map { "Content-Type: application/json\n" . main::auth($_) }
  qw(HS256 HS384 HS512 RS256 RS384 RS512 ES256 ES384 ES512) ]
--- error_code eval
[ (202) x 9 ]
--- no_error_log
[error]



=== TEST 2: keys from a JSON Web Key Set are used by their kid
--- config
    location = /event {
        mcpu_ingest;
        mcpu_jwt_key $TEST_NGINX_JWT_DIR/keys.jwks;
    }
--- request eval
[ ("POST /event\n{\"type\":\"AppOpened\",\"time\":1}") x 3 ]
--- more_headers eval
[ map { "Content-Type: application/json\n" . main::auth($_) } qw(jwks_rsa jwks_ec unknown_kid) ]
--- error_code eval
[202, 202, 401]
--- response_headers eval
["!WWW-Authenticate", "!WWW-Authenticate",
 qq{WWW-Authenticate: Bearer realm="mcpu", error="invalid_token", error_description="unknown_kid"}]



=== TEST 3: a request without a token is refused with a bare Bearer challenge
--- more_headers
Content-Type: application/json
Client-Id: c
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="mcpu"
--- response_body
{"error":"missing_token","detail":"an Authorization: Bearer token is required"}
--- error_log
mcpu: no bearer token



=== TEST 4: a Basic authorization is no bearer token
--- more_headers
Content-Type: application/json
Authorization: Basic dXNlcjpwYXNz
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="mcpu"



=== TEST 5: a malformed token is refused as invalid_token
--- more_headers
Content-Type: application/json
Authorization: Bearer not.a-token
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="mcpu", error="invalid_token", error_description="malformed"
--- response_body
{"error":"invalid_token","detail":"malformed"}



=== TEST 6: alg none is refused
--- more_headers eval
"Content-Type: application/json\n" . main::auth('none')
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="mcpu", error="invalid_token", error_description="alg_none"



=== TEST 7: a token whose algorithm no key is bound to is refused
--- config
    location = /event {
        mcpu_ingest;
        mcpu_jwt_key $TEST_NGINX_JWT_DIR/hs256.secret alg=HS256;
    }
--- more_headers eval
"Content-Type: application/json\n" . main::auth('rs_for_hs')
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="mcpu", error="invalid_token", error_description="alg_mismatch"



=== TEST 8: an HS256 token signed with the text of the RSA public key is refused
--- config
    location = /event {
        mcpu_ingest;
        mcpu_jwt_key $TEST_NGINX_JWT_DIR/rsa.pub alg=RS256;
    }
--- more_headers eval
"Content-Type: application/json\n" . main::auth('hs_with_rsa_pem')
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="mcpu", error="invalid_token", error_description="alg_mismatch"



=== TEST 9: a kid no key has is refused
--- config
    location = /event {
        mcpu_ingest;
        mcpu_jwt_key $TEST_NGINX_JWT_DIR/rsa.pub alg=RS256 kid=rsa-1;
    }
--- more_headers eval
"Content-Type: application/json\n" . main::auth('unknown_kid')
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="mcpu", error="invalid_token", error_description="unknown_kid"



=== TEST 10: a bad signature is refused
--- more_headers eval
[ "Content-Type: application/json\n" . main::auth('bad_signature'),
  "Content-Type: application/json\n" . main::auth('other_key') ]
--- request eval
[ ("POST /event\n{\"type\":\"AppOpened\",\"time\":1}") x 2 ]
--- error_code eval
[401, 401]
--- response_headers eval
[ (qq{WWW-Authenticate: Bearer realm="mcpu", error="invalid_token", error_description="bad_signature"}) x 2 ]



=== TEST 11: an expired token is refused, and the log says why without the token
(at info: nginx's own debug log prints every request header)
--- log_level: info
--- more_headers eval
"Content-Type: application/json\n" . main::auth('expired')
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="mcpu", error="invalid_token", error_description="expired"
--- error_log
mcpu: token refused, expired:
--- no_error_log eval
[ $main::tok{expired}, (split /\./, $main::tok{expired})[2] ]



=== TEST 12: an expired token within mcpu_jwt_leeway is accepted
--- config
    location = /event {
        mcpu_ingest;
        mcpu_jwt_key $TEST_NGINX_JWT_DIR/hs256.secret alg=HS256;
        mcpu_jwt_leeway 60s;
    }
--- more_headers eval
"Content-Type: application/json\n" . main::auth('expired')
--- error_code: 202



=== TEST 13: a token that is not valid yet is refused
--- more_headers eval
"Content-Type: application/json\n" . main::auth('not_yet')
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="mcpu", error="invalid_token", error_description="not_yet_valid"



=== TEST 14: a token without exp is refused
--- more_headers eval
"Content-Type: application/json\n" . main::auth('no_exp')
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="mcpu", error="invalid_token", error_description="no_exp"



=== TEST 15: a wrong issuer or audience is refused, the right ones accepted
--- config
    location = /iss {
        mcpu_ingest;
        mcpu_jwt_key $TEST_NGINX_JWT_DIR/hs256.secret alg=HS256;
        mcpu_jwt_issuer https://other.example;
    }
    location = /aud {
        mcpu_ingest;
        mcpu_jwt_key $TEST_NGINX_JWT_DIR/hs256.secret alg=HS256;
        mcpu_jwt_audience other;
    }
    location = /both {
        mcpu_ingest;
        mcpu_jwt_key $TEST_NGINX_JWT_DIR/hs256.secret alg=HS256;
        mcpu_jwt_issuer https://id.example;
        mcpu_jwt_audience mcpu;
    }
--- request eval
[ map { "POST /$_\n{\"type\":\"AppOpened\",\"time\":1}" } qw(iss aud both) ]
--- more_headers eval
[ ("Content-Type: application/json\n" . main::auth('iss_aud')) x 3 ]
--- error_code eval
[401, 401, 202]
--- response_headers eval
[ qq{WWW-Authenticate: Bearer realm="mcpu", error="invalid_token", error_description="bad_issuer"},
  qq{WWW-Authenticate: Bearer realm="mcpu", error="invalid_token", error_description="bad_audience"},
  "!WWW-Authenticate" ]



=== TEST 16: a Client-Id that disagrees with sub is refused with 403
--- more_headers eval
"Content-Type: application/json\nClient-Id: someone-else\n" . main::auth('HS256')
--- error_code: 403
--- response_headers
!WWW-Authenticate
--- response_body
{"error":"client_id_mismatch","detail":"the Client-Id header differs from the token's sub"}



=== TEST 17: a Client-Id equal to sub is accepted
--- more_headers eval
"Content-Type: application/json\nClient-Id: client-hs256\n" . main::auth('HS256')
--- error_code: 202



=== TEST 18: mcpu_jwt off turns an inherited key off
--- config
    mcpu_jwt_key $TEST_NGINX_JWT_DIR/hs256.secret alg=HS256;
    location = /event {
        mcpu_ingest;
        mcpu_jwt off;
    }
--- more_headers
Content-Type: application/json
Client-Id: no-token-needed
--- error_code: 202



=== TEST 19: $mcpu_client_id in limit_req gives each client its own rate
--- http_config
    limit_req_zone $mcpu_client_id zone=per_client:1m rate=1r/m;
--- config
    location = /event {
        mcpu_jwt_key $TEST_NGINX_JWT_DIR/hs256.secret alg=HS256;
        limit_req zone=per_client nodelay;
        limit_req_status 429;
        mcpu_ingest;
    }
--- request eval
[ ("POST /event\n{\"type\":\"AppOpened\",\"time\":1}") x 4 ]
--- more_headers eval
[ map { "Content-Type: application/json\n" . main::auth($_) } qw(client_a client_a client_b client_a) ]
--- error_code eval
[202, 429, 202, 429]



=== TEST 20: $mcpu_client_id is the verified sub, and empty for a refused token
--- config
    location = /whoami {
        mcpu_jwt_key $TEST_NGINX_JWT_DIR/hs256.secret alg=HS256;
        return 200 "sub=$mcpu_client_id\n";
    }
--- request eval
[ ("GET /whoami") x 2 ]
--- more_headers eval
[ map { main::auth($_) } qw(client_a expired) ]
--- response_body eval
[ "sub=client-a\n", "sub=\n" ]



=== TEST 21: a missing key file stops nginx naming the file
--- config
    location = /event { mcpu_ingest; mcpu_jwt_key $TEST_NGINX_JWT_DIR/nowhere.pem alg=RS256; }
--- must_die
--- error_log eval
qr{mcpu_jwt_key: .*nowhere\.pem}



=== TEST 22: an HMAC secret shorter than its hash stops nginx
--- config
    location = /event { mcpu_ingest; mcpu_jwt_key $TEST_NGINX_JWT_DIR/short.secret alg=HS256; }
--- must_die
--- error_log eval
qr{mcpu_jwt_key: .*short\.secret.*(short|at least)}



=== TEST 23: an EC key bound to RS256 stops nginx
--- config
    location = /event { mcpu_ingest; mcpu_jwt_key $TEST_NGINX_JWT_DIR/es256.pub alg=RS256; }
--- must_die
--- error_log eval
qr{mcpu_jwt_key: .*es256\.pub.*RSA}



=== TEST 24: a private key given as a verification key stops nginx
--- config
    location = /event { mcpu_ingest; mcpu_jwt_key $TEST_NGINX_JWT_DIR/rsa.key alg=RS256; }
--- must_die
--- error_log eval
qr{mcpu_jwt_key: .*rsa\.key.*private}
