# Every limit just under (accepted) and just over (refused): nesting depth,
# members per object, string length, transferId, cores, Client-Id, body size.

# t/lib last: MCPU::Ring from here, the runner from prove -I (ours or the real one)
BEGIN { push @INC, 't/lib' }
use Test::Nginx::Socket 'no_plan';
use MCPU::Ring;
use MCPU::Setup;

our $now = time() * 1000;
sub ev { "{\"type\":\"$_[0]\",\"time\":$now" . ($_[1] // '') . "}" }
sub nest { ('[' x $_[0]) . '1' . (']' x $_[0]) }
sub members { '{' . join(',', map { "\"k$_\":$_" } 1 .. $_[0]) . '}' }
sub cores { '{' . join(',', map { "\"c$_\":1" } 1 .. $_[0]) . '}' }

our $ring = MCPU::Setup::blocks(ring => 'limits.ring',
    config => "location = /event { mcpu_ingest; mcpu_max_body_size 100k; }\n");

run_tests();

is(scalar(my @r = MCPU::Ring::records($ring)), 7, 'each accepted event, and only those, is in the ring');

__DATA__

=== TEST 1: nesting of 8 levels is accepted, 9 refused
--- request eval
[ "POST /event\n" . main::ev('AppOpened', ',"x":' . main::nest(7)),
  "POST /event\n" . main::ev('AppOpened', ',"x":' . main::nest(8)) ]
--- error_code eval
[202, 400]
--- response_body eval
[ "{\"accepted\":1}\n", "{\"error\":\"limit_exceeded\",\"detail\":\"objects and arrays nest deeper than 8 levels\"}\n" ]



=== TEST 2: an object of 1024 members is accepted, 1025 refused
--- request eval
[ "POST /event\n" . main::ev('AppOpened', ',"x":' . main::members(1024)),
  "POST /event\n" . main::ev('AppOpened', ',"x":' . main::members(1025)) ]
--- error_code eval
[202, 400]
--- response_body eval
[ "{\"accepted\":1}\n", "{\"error\":\"limit_exceeded\",\"detail\":\"an object or array has more than 1024 members\"}\n" ]



=== TEST 3: a string of 4096 bytes is accepted, 4097 refused
--- request eval
[ "POST /event\n" . main::ev('AppOpened', ',"s":"' . ('s' x 4096) . '"'),
  "POST /event\n" . main::ev('AppOpened', ',"s":"' . ('s' x 4097) . '"') ]
--- error_code eval
[202, 400]



=== TEST 4: a transferId of 128 bytes is accepted, 129 refused
--- request eval
[ "POST /event\n" . main::ev('FileTransferStarted', ',"transferId":"' . ('t' x 128) . '"'),
  "POST /event\n" . main::ev('FileTransferStarted', ',"transferId":"' . ('t' x 129) . '"') ]
--- error_code eval
[202, 400]



=== TEST 5: 1024 cores are accepted, 1025 refused
--- request eval
[ "POST /event\n" . main::ev('CpuMeasurement', ',"usage":' . main::cores(1024)),
  "POST /event\n" . main::ev('CpuMeasurement', ',"usage":' . main::cores(1025)) ]
--- error_code eval
[202, 400]



=== TEST 6: a Client-Id of 128 characters is accepted, 129 refused
--- request eval
[ "POST /event\n" . main::ev('AppOpened'), "POST /event\n" . main::ev('AppOpened') ]
--- more_headers eval
[ "Content-Type: application/json\nClient-Id: " . ('i' x 128) . "\n",
  "Content-Type: application/json\nClient-Id: " . ('i' x 129) . "\n" ]
--- error_code eval
[202, 400]



=== TEST 7: a body of exactly mcpu_max_body_size is read, one byte more refused
--- config
    location = /event { mcpu_ingest; mcpu_max_body_size 200; }
--- request eval
[ "POST /event\n" . main::ev('AppOpened', ',"p":"' . ('p' x (200 - length(main::ev('AppOpened', ',"p":""')))) . '"'),
  "POST /event\n" . main::ev('AppOpened', ',"p":"' . ('p' x (201 - length(main::ev('AppOpened', ',"p":""')))) . '"') ]
--- error_code eval
[202, 413]
