# The optional fields of the brief's types, and types an operator allows
# beyond them (mcpu_event_type_allow), each with a bounded "attributes".

# t/lib last: MCPU::Ring from here, the runner from prove -I (ours or the real one)
BEGIN { push @INC, 't/lib' }
use Test::Nginx::Socket 'no_plan';
use Cwd qw(cwd);
use File::Temp qw(tempdir);
use MCPU::Ring;

$ENV{TEST_NGINX_MCPU_MODULE} ||= cwd() . '/build/ngx_http_mcpu_module.so';
$ENV{TEST_NGINX_RING_DIR} ||= tempdir(CLEANUP => 1);

our $now = time() * 1000;
sub ev { my ($type, $extra) = @_; "{\"type\":\"$type\",\"time\":$now" . ($extra // '') . "}" }

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('main_config', "load_module $ENV{TEST_NGINX_MCPU_MODULE};\n");
    $block->set_value('http_config', "mcpu_ring $ENV{TEST_NGINX_RING_DIR}/types.ring "
                                     . "size=1m lanes=4;\n");
    $block->set_value('config', "location = /event { mcpu_ingest; }\n")
        unless defined $block->config;
    $block->set_value('more_headers', "Content-Type: application/json\nClient-Id: c-1\n");
});

run_tests();

my @types = sort map { $_->{value} =~ /^\{"schema":1,"type":"(\w+)"/ ? $1 : '?' }
            MCPU::Ring::records("$ENV{TEST_NGINX_RING_DIR}/types.ring");
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
