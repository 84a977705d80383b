# Self-test of the t/lib Test::Nginx runner, with stock nginx directives
# only (no project module).  It must also pass, with the same plan, under
# the real openresty Test::Nginx:
#   prove -I t/lib t/000-runner.t
# Every block makes exactly 6 assertions per repeat (counted in each title).

use Test::Nginx::Socket;

repeat_each(2);
plan tests => repeat_each() * (6 * blocks());

# A block without --- config gets a default one (add_block_preprocessor).
add_block_preprocessor(sub {
    my $block = shift;
    if (!defined $block->config) {
        $block->set_value("config", <<'_EOC_');
    location = /pre {
        return 200 "from the preprocessor\n";
    }
_EOC_
    }
});

run_tests();

__DATA__

=== TEST 1: return 204 has no body, no Content-Type, no Content-Length (6)
--- config
    location = /t {
        return 204;
    }
--- request
GET /t
--- error_code: 204
--- response_headers
!Content-Type
!Content-Length
--- response_body
--- error_log
HTTP/1.1 204 No Content
--- no_error_log
[error]



=== TEST 2: return 200 with text, add_header, default_type text/plain (6)
--- config
    location = /t {
        add_header X-Foo bar;
        return 200 "hello\n";
    }
--- request
GET /t
--- response_headers
Content-Type: text/plain
X-Foo: bar
--- response_body
hello
--- no_error_log
[error]
[alert]



=== TEST 3: an unknown directive makes nginx refuse to start (6)
--- config
    location = /t {
        foo_bar_baz on;
    }
--- must_die
--- error_log eval
[
    '[emerg]',
    'unknown directive "foo_bar_baz"',
    qr/\[emerg\] \d+#\d+: unknown directive "foo_bar_baz" in \S+\/conf\/nginx\.conf:\d+$/,
]
--- no_error_log
[alert]
[crit]



=== TEST 4: more_headers are sent, with Host and Connection added (6)
--- config
    location = /t {
        return 200 "$http_x_test|$http_host|$http_connection\n";
    }
--- request
GET /t
--- more_headers
# a comment line, not a header
X-Test: abc
--- response_headers
Content-Type: text/plain
Content-Length: 20
--- response_body
abc|localhost|close
--- error_log
http header: "X-Test: abc"
--- no_error_log
[error]



=== TEST 5: a request body from request eval is trimmed and gets a Content-Length (6)
--- config
    location = /echo {
        proxy_set_header X-Body $request_body;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/back;
    }
    location = /back {
        return 200 "len=$http_content_length body=$http_x_body\n";
    }
--- request eval
"POST /echo\n" . ("a" x 10) . "\n\n"
--- response_headers
Content-Type: text/plain
--- response_body
len=10 body=aaaaaaaaaa
--- error_log
http proxy header:
--- no_error_log
[error]
[alert]



=== TEST 6: pipelined requests on one connection (2 x (status + body) + 2 log windows = 6)
--- config
    location = /a { return 200 "a\n"; }
    location = /b { return 200 "b\n"; }
--- pipelined_requests eval
["GET /a", "GET /b"]
--- response_body eval
["a\n", "b\n"]
--- no_error_log
[error]



=== TEST 7: a request array makes one connection per request (2 x (status + body) + 2 log windows = 6)
--- config
    location = /a { return 200 "a\n"; }
--- request eval
["GET /nope", "GET /a"]
--- error_code eval
[404, 200]
--- response_body_like eval
[qr/404 Not Found/, qr/^a$/]
--- no_error_log
[crit]



=== TEST 8: grep_error_log, error_code_like, response_body_unlike, raw_response_headers_like (6)
--- config
    rewrite_log on;
    location /grep/ {
        rewrite ^/grep/(\w+)$ /done/$1 last;
    }
    location /done/ {
        return 200 "rewritten\n";
    }
--- request
GET /grep/x
--- error_code_like: ^2\d\d$
--- raw_response_headers_like: ^HTTP/1\.1 200 OK\r\n
--- response_body_unlike: error
--- grep_error_log eval: qr/rewritten data: "[^"]+"/
--- grep_error_log_out
rewritten data: "/done/x"
--- error_log
[notice]
--- no_error_log
[error]



=== TEST 9: user_files, server_name, main_config and http_config (6)
--- main_config
worker_rlimit_nofile 1024;
--- http_config
    add_header X-Server $server_name;
--- config
--- server_name: example.test
--- user_files
>>> sub/hello.txt
hi there
--- request
GET /sub/hello.txt
--- response_headers
Content-Type: text/plain
X-Server: example.test
--- response_body
hi there
--- no_error_log
[error]
[warn]



=== TEST 10: $TEST_NGINX_RAND_PORT_1 is one port throughout the block (6)
--- http_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / { return 200 "backend\n"; }
    }
--- config
    location = /p {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/;
    }
--- request
GET /p
--- response_headers_like
Content-Type: text/pl\w+
Content-Length: \d+
--- response_body
backend
--- no_error_log
[error]
[alert]



=== TEST 11: an incomplete raw_request times out; abort makes that normal (6)
--- config
    location = /unused { return 200; }
--- raw_request eval
"GET / HTTP/1.1\r\nHost: localhost\r\n"
--- timeout: 200ms
--- abort
--- ignore_response
--- error_log
client prematurely closed connection
while reading client request headers
[info]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 12: shutdown half-closes the client socket after the request (6)
--- config
    location = /s { return 200 "shut\n"; }
--- raw_request eval
"GET /s HTTP/1.0\r\nHost: localhost\r\n\r\n"
--- shutdown
--- raw_response_headers_like: ^HTTP/1\.1 200 OK\r\n
--- response_headers
Content-Type: text/plain
--- response_body
shut
--- no_error_log
[error]
[alert]



=== TEST 13: init, wait, log_level, chomp and an inline error_code (6)
--- config
--- init
open my $fh, '>', html_dir() . "/init.txt" or die $!;
print $fh "from init";
close $fh;
--- log_level: warn
--- wait: 0.05
--- request
GET /init.txt
--- error_code: 200
--- response_headers
Content-Type: text/plain
--- response_body chomp
from init
--- no_error_log
[debug]
[info]
[error]



=== TEST 14: the preprocessor fills in a missing config (6)
--- request
GET /pre
--- response_headers
Content-Type: text/plain
Content-Length: 22
--- response_body
from the preprocessor
--- no_error_log
[error]
[alert]
