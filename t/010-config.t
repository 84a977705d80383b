# Directives are checked when nginx reads its configuration: each bad value
# stops nginx with a message that names it, and an existing ring of another
# geometry is never re-created.

# t/lib last: MCPU::Ring from here, the runner from prove -I (ours or the real one)
BEGIN { push @INC, 't/lib' }
use Test::Nginx::Socket 'no_plan';
use Cwd qw(cwd);
use File::Temp qw(tempdir);

$ENV{TEST_NGINX_MCPU_MODULE} ||= cwd() . '/build/ngx_http_mcpu_module.so';
$ENV{TEST_NGINX_RING_DIR} ||= tempdir(CLEANUP => 1);

no_shuffle();

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('main_config',
                      "load_module $ENV{TEST_NGINX_MCPU_MODULE};\n"
                      . ($block->main_config // ''));
});

run_tests();

__DATA__

=== TEST 1: a ring size that is not a power of two stops nginx
--- http_config
    mcpu_ring $TEST_NGINX_RING_DIR/t1.ring size=1000000;
--- config
    location = /event { mcpu_ingest; }
--- must_die
--- error_log
mcpu_ring: ring size must be a power of two, not 1000000



=== TEST 2: an unknown mcpu_ring parameter stops nginx
--- http_config
    mcpu_ring $TEST_NGINX_RING_DIR/t2.ring size=1m frob=1;
--- config
    location = /event { mcpu_ingest; }
--- must_die
--- error_log
invalid parameter "frob=1"



=== TEST 3: a number of lanes that is not a power of two stops nginx
--- http_config
    mcpu_ring $TEST_NGINX_RING_DIR/t3.ring size=1m lanes=3;
--- config
    location = /event { mcpu_ingest; }
--- must_die
--- error_log
mcpu_ring: lanes must be a power of two from 1 to 256, not 3



=== TEST 4: a max_record over half a lane stops nginx
--- http_config
    mcpu_ring $TEST_NGINX_RING_DIR/t4.ring size=1m lanes=8 max_record=100k;
--- config
    location = /event { mcpu_ingest; }
--- must_die
--- error_log
mcpu_ring: max record 102400 must be at least 256 and at most half a lane (65536 bytes)



=== TEST 5: mcpu_ingest without mcpu_ring stops nginx
--- config
    location = /event { mcpu_ingest; }
--- must_die
--- error_log
"mcpu_ingest" needs "mcpu_ring" in the http block



=== TEST 6: a second mcpu_ring is refused
--- http_config
    mcpu_ring $TEST_NGINX_RING_DIR/t6.ring size=1m;
    mcpu_ring $TEST_NGINX_RING_DIR/t6b.ring size=1m;
--- config
    location = /event { mcpu_ingest; }
--- must_die
--- error_log
"mcpu_ring" directive is duplicate



=== TEST 7: a new ring is created with the configured geometry
--- http_config
    mcpu_ring $TEST_NGINX_RING_DIR/shared.ring size=1m lanes=4 max_record=64k;
--- config
    location = /event { mcpu_ingest; }
--- request
DELETE /event
--- error_code: 405
--- no_error_log
[error]



=== TEST 8: the existing ring with another size is refused naming both geometries
--- http_config
    mcpu_ring $TEST_NGINX_RING_DIR/shared.ring size=2m lanes=4 max_record=64k;
--- config
    location = /event { mcpu_ingest; }
--- must_die
--- error_log eval
qr{exists with size=1048576 lanes=4 max_record=65536, configured size=2097152 lanes=4 max_record=65536; it may hold unsent events, so it is not re-created}



=== TEST 9: the existing ring with the same geometry is attached
--- http_config
    mcpu_ring $TEST_NGINX_RING_DIR/shared.ring size=1m lanes=4 max_record=64k;
--- config
    location = /event { mcpu_ingest; }
--- request
DELETE /event
--- error_code: 405
--- no_error_log
[error]



=== TEST 10: a file that is not a ring is refused, not overwritten
--- http_config
    mcpu_ring $TEST_NGINX_SERVER_ROOT/html/not-a-ring size=1m;
--- config
    location = /event { mcpu_ingest; }
--- user_files
>>> not-a-ring
this is somebody else's file, long enough to be read as a header? no.
--- must_die
--- error_log
is not an mcpu ring



=== TEST 11: an mcpu_ring_full_log_level that nginx does not know stops nginx
--- http_config
    mcpu_ring $TEST_NGINX_RING_DIR/t11.ring size=1m;
--- config
    location = /event { mcpu_ingest; mcpu_ring_full_log_level debug; }
--- must_die
--- error_log
invalid value "debug"
