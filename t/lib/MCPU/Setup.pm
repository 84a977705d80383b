package MCPU::Setup;

# The setup t/ files share: load the module, give every block one ring in a
# temporary directory outside the servroot (so the checks after run_tests()
# read what all blocks enqueued), and default the location and headers.
# Works with our runner and with the real Test::Nginx.

use strict;
use warnings;
use Cwd qw(cwd);
use File::Temp qw(tempdir);
use Test::Nginx::Socket ();

# MCPU::Setup::blocks(ring => 'name.ring', http => '...', config => '...',
#                     headers => '...')  ->  the ring's path
sub blocks {
    my (%o) = @_;

    $ENV{TEST_NGINX_MCPU_MODULE} ||= cwd() . '/build/ngx_http_mcpu_module.so';
    $ENV{TEST_NGINX_RING_DIR} ||= tempdir(CLEANUP => 1);

    my $ring = "$ENV{TEST_NGINX_RING_DIR}/$o{ring}";
    my $size = $o{ring_size} // 'size=1m lanes=4';
    my $config = $o{config} // "location = /event { mcpu_ingest; }\n";
    my $headers = $o{headers} // "Content-Type: application/json\nClient-Id: c-1\n";

    Test::Nginx::Socket::add_block_preprocessor(sub {
        my $block = shift;
        $block->set_value('main_config',
                          "load_module $ENV{TEST_NGINX_MCPU_MODULE};\n");
        $block->set_value('http_config', "mcpu_ring $ring $size;\n"
                                         . ($o{http} // ''));
        $block->set_value('config', $config) unless defined $block->config;
        $block->set_value('more_headers', $headers)
            unless defined $block->more_headers;
    });

    return $ring;
}

1;
