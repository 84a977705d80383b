# seq, the client's clock (Sent-At) and the bounds on event time and shape:
# each accepted event carries them in its record, each refusal says why.

# t/lib last: MCPU::Ring from here, the runner from prove -I (ours or the real one)
BEGIN { push @INC, 't/lib' }
use Test::Nginx::Socket 'no_plan';
use MCPU::Ring;
use MCPU::Setup;


sub now_ms { int(Time::HiRes::time() * 1000) }
sub event { my ($ms, $extra) = @_; "{\"type\":\"AppOpened\",\"time\":$ms" . ($extra // '') . "}" }
sub iso {
    my @t = gmtime($_[0] / 1000);
    sprintf "%04d-%02d-%02dT%02d:%02d:%02dZ", $t[5] + 1900, $t[4] + 1, @t[3, 2, 1, 0];
}

use Time::HiRes ();

our $ring = MCPU::Setup::blocks(ring => 'time.ring', config => "location = /event { mcpu_ingest; mcpu_event_max_future 60s; mcpu_event_max_age 1h; }\n");

run_tests();

my @records = map { $_->{value} } MCPU::Ring::records($ring);
is(scalar @records, 4, 'only the accepted events are in the ring');
is(scalar(grep { /"seq":41,/ } @records), 1, 'seq is carried in the record');
is(scalar(grep { /"skewMs":720\d{4},/ && /"sentAt":"/ } @records), 1,
   'Sent-At gives sentAt and the measured skew');

__DATA__

=== TEST 1: an event with seq is accepted and seq is in the record
--- more_headers
Content-Type: application/json
Client-Id: c-1
--- request eval
"POST /event\n" . main::event(main::now_ms(), ',"seq":41')
--- error_code: 202



=== TEST 2: a seq that is not a non-negative integer is refused
--- more_headers
Content-Type: application/json
Client-Id: c-1
--- request eval
"POST /event\n" . main::event(main::now_ms(), ',"seq":"41"')
--- error_code: 400
--- response_body
{"error":"bad_seq","detail":"field \"seq\" must be an integer from 0 to 2^53"}



=== TEST 3: a client clock two hours behind: its event from "two hours ago" is accepted and the skew recorded
--- more_headers eval
"Content-Type: application/json\nClient-Id: c-1\nSent-At: " . main::iso(main::now_ms() - 7200000) . "\n"
--- request eval
"POST /event\n" . main::event(main::now_ms() - 7200000)
--- error_code: 202



=== TEST 4: an event just inside mcpu_event_max_future is accepted, one beyond is refused
--- more_headers
Content-Type: application/json
Client-Id: c-1
--- request eval
[ "POST /event\n" . main::event(main::now_ms() + 50000),
  "POST /event\n" . main::event(main::now_ms() + 120000) ]
--- error_code eval
[202, 400]
--- response_body_like eval
[ qr/accepted/, qr/^\{"error":"time_in_future","detail":"the event time is 1\d\d s ahead of the server \(at most 60 s\)"\}$/ ]



=== TEST 5: an event just inside mcpu_event_max_age is accepted, an older one is refused
--- more_headers
Content-Type: application/json
Client-Id: c-1
--- request eval
[ "POST /event\n" . main::event(main::now_ms() - 3500000),
  "POST /event\n" . main::event(main::now_ms() - 3700000) ]
--- error_code eval
[202, 400]
--- response_body_like eval
[ qr/accepted/, qr/^\{"error":"time_too_old","detail":"the event is 3\d\d\d s old \(at most 3600 s\)"\}$/ ]



=== TEST 6: a Sent-At that is no time is refused
--- more_headers
Content-Type: application/json
Client-Id: c-1
Sent-At: yesterday
--- request eval
"POST /event\n" . main::event(main::now_ms())
--- error_code: 400
--- response_body
{"error":"bad_header","detail":"the Sent-At header must be an RFC 3339 time or epoch milliseconds"}



=== TEST 7: objects nested deeper than 8 levels are refused
--- more_headers
Content-Type: application/json
Client-Id: c-1
--- request eval
"POST /event\n" . main::event(main::now_ms(), ',"x":' . ('[' x 8) . ('1') . (']' x 8))
--- error_code: 400
--- response_body
{"error":"limit_exceeded","detail":"objects and arrays nest deeper than 8 levels"}



=== TEST 8: a string over 4096 bytes is refused
--- more_headers
Content-Type: application/json
Client-Id: c-1
--- request eval
"POST /event\n" . main::event(main::now_ms(), ',"note":"' . ('n' x 4097) . '"')
--- error_code: 400
--- response_body
{"error":"limit_exceeded","detail":"a string is longer than 4096 bytes"}
