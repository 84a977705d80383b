# Content-Encoding: gzip request bodies are inflated, within
# mcpu_max_decompressed_size: a small bomb gets 413, not memory.

# t/lib last: MCPU::Ring from here, the runner from prove -I (ours or the real one)
BEGIN { push @INC, 't/lib' }
use Test::Nginx::Socket 'no_plan';
use IO::Compress::Gzip qw(gzip $GzipError);
use MCPU::Ring;
use MCPU::Setup;


sub gz {
    my ($text) = @_;
    my $out;
    gzip(\$text => \$out) or die $GzipError;
    return $out;
}

sub event { '{"type":"AppOpened","time":' . time() * 1000 . ($_[0] // '') . '}' }

our $ring = MCPU::Setup::blocks(ring => 'gzip.ring', config => "location = /event { mcpu_ingest; mcpu_max_decompressed_size 64k; }\n");

run_tests();

my @records = MCPU::Ring::records($ring);
is(scalar @records, 2, 'only the accepted events are in the ring');
is(scalar(grep { $_->{value} =~ /"gzipped":true/ } @records), 1,
   'the gzip event is in the ring as its decompressed JSON');

__DATA__

=== TEST 1: a gzip body is decompressed and accepted
--- more_headers
Content-Type: application/json
Content-Encoding: gzip
Client-Id: c-1
--- request eval
"POST /event\n" . main::gz(main::event(',"gzipped":true'))
--- error_code: 202



=== TEST 2: Content-Encoding identity is the body as it is
--- more_headers
Content-Type: application/json
Content-Encoding: identity
Client-Id: c-1
--- request eval
"POST /event\n" . main::event()
--- error_code: 202



=== TEST 3: a gzip bomb (a few KB inflating to 10 MB) is refused with 413
--- more_headers
Content-Type: application/json
Content-Encoding: gzip
Client-Id: c-1
--- request eval
"POST /event\n" . main::gz(main::event(',"x":"') . ('0' x 10_000_000) . '"}')
--- error_code: 413
--- response_body
{"error":"decompressed_too_large","detail":"the body decompresses to more than mcpu_max_decompressed_size"}



=== TEST 4: a body that is not gzip is refused with 400
--- more_headers
Content-Type: application/json
Content-Encoding: gzip
Client-Id: c-1
--- request eval
"POST /event\n" . main::event()
--- error_code: 400
--- response_body
{"error":"bad_gzip","detail":"the body is not valid gzip"}



=== TEST 5: a truncated gzip body is refused with 400
--- more_headers
Content-Type: application/json
Content-Encoding: gzip
Client-Id: c-1
--- request eval
my $g = main::gz(main::event());
"POST /event\n" . substr($g, 0, length($g) - 6)
--- error_code: 400



=== TEST 6: an encoding other than gzip is refused with 415
--- more_headers
Content-Type: application/json
Content-Encoding: br
Client-Id: c-1
--- request eval
"POST /event\n" . main::event()
--- error_code: 415
--- response_body
{"error":"unsupported_encoding","detail":"Content-Encoding must be gzip or identity"}
