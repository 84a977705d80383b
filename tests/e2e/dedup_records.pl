#!/usr/bin/perl
# dedup_records.pl: raw-topic records for the mcpu-dedup tests, as
# "key<TAB>value" lines (kcat -P -K'\t'), in the exact layout of the
# module's records (README "The Kafka record", mcpu_event.c): key = client id.
#
#   dedup_records.pl [OPTIONS] MODE FROM COUNT
#   dedup_records.pl [--seed S] shuffle < LINES
#
# Event i (FROM <= i < FROM + COUNT) is a function of (seed, base, clients,
# i) only, so any mode regenerates the very event i that "unique" emitted,
# whatever ranges were asked before.  Each event carries "id" (last member
# of the event object), which the checkers read back from the clean topic.
#
# MODE
#   unique          event i, id "u<i>": one new event per i
#   identical       the record of "unique", byte for byte (a batcher re-send)
#   resent          the same event bytes in another request: receivedAt one
#                   to two minutes later, another node (a client retry
#                   through another nginx)
#   same-time-type  for each i whose event has no seq: a NEW event, id
#                   "t<i>", of the same client with the same time and type
#                   but other content (another transferId, other usage);
#                   unique events, not duplicates
#   shuffle         the lines of stdin in a seeded random order
#
# OPTIONS
#   --seed S       (default 1)
#   --base-ms MS   event times are MS minus ten minutes plus i/clients s
#                  (default 1795471200000, 2026-11-23T22:00:00Z)
#   --clients C    client installations (default 300): event i is client
#                  i % C's event number int(i / C); two clients in three
#                  send seq (= that number + 1), the others none
#   --pick P       emit only a seeded share P (0..1) of the range; each
#                  mode picks its own subset
#   --only FILE    emit only the i listed in FILE (one number a line)
#
# Types cycle per client over CpuMeasurement, FileTransferStarted,
# AppOpened and FileTransferProgress, so there are events of every type
# with and without seq.
use strict;
use warnings;
use Digest::MD5 qw(md5);
use Getopt::Long qw(GetOptions);

my ($seed, $base, $clients, $pick, $only) = (1, 1795471200000, 300, 1);
GetOptions('seed=i' => \$seed, 'base-ms=i' => \$base, 'clients=i' => \$clients,
           'pick=f' => \$pick, 'only=s' => \$only)
    or die "usage: $0 [--seed S] [--base-ms MS] [--clients C] [--pick P] MODE FROM COUNT\n";
my $mode = shift // die "$0: no MODE\n";

if ($mode eq 'shuffle') {
    srand($seed);
    my @l = <STDIN>;
    for (my $i = @l - 1; $i > 0; $i--) {
        my $j = int(rand($i + 1));
        @l[$i, $j] = @l[$j, $i];
    }
    print @l;
    exit 0;
}

my ($from, $count) = @ARGV;
die "$0: MODE FROM COUNT\n" unless defined $count && $from =~ /^\d+$/ && $count =~ /^\d+$/;
die "$0: unknown mode $mode\n"
    unless $mode =~ /^(unique|identical|resent|same-time-type)$/;
die "$0: --clients must be >= 1\n" if $clients < 1;
my %only;
if (defined $only) {
    open my $f, '<', $only or die "$0: $only: $!\n";
    while (<$f>) { $only{$1} = 1 if /^(\d+)$/ }
}

# a 32-bit number from (seed, parts): the only source of variety
sub h { unpack 'N', md5(join "\0", $seed, @_) }
sub frac { h(@_) / 4294967296 }

sub iso {
    my ($ms) = @_;
    my @t = gmtime(int($ms / 1000));
    sprintf '%04d-%02d-%02dT%02d:%02d:%02d.%03dZ',
        $t[5] + 1900, $t[4] + 1, @t[3, 2, 1, 0], $ms % 1000;
}

sub client_id {
    my ($c) = @_;
    my @b = unpack 'C5', md5(join "\0", $seed, 'client', $c);
    sprintf '02:%02x:%02x:%02x:%02x:%02x', @b;
}

my @types = qw(CpuMeasurement FileTransferStarted AppOpened FileTransferProgress);

# the facts of event i
sub event_of {
    my ($i) = @_;
    my $c = $i % $clients;
    my $n = int($i / $clients);
    my %e = (
        i       => $i,
        client  => client_id($c),
        seq     => ($c % 3 != 0 ? $n + 1 : undef),
        type    => $types[($n + $c) % 4],
        time_ms => $base - 600_000 + $n * 1000 + h($i, 'time') % 1000,
    );
    # the client writes its time as RFC 3339 or as integer ms
    $e{time_text} = h($i, 'time-format') % 2 ? qq("@{[iso($e{time_ms})]}") : $e{time_ms};
    return \%e;
}

# the event object, as the client sent it (compact); $variant: "" for event
# i itself, "t" for its same-time-type sibling
sub event_json {
    my ($e, $variant) = @_;
    my $i = $e->{i};
    my $k = "$variant$i";
    my $s = qq({"type":"$e->{type}","time":$e->{time_text});
    $s .= qq(,"seq":$e->{seq}) if defined $e->{seq};
    my $t = $e->{type};
    if ($t eq 'CpuMeasurement') {
        $s .= sprintf q(,"usage":{"0":%.1f,"1":%d}),
            (h($k, 'cpu0') % 1000) / 10, h($k, 'cpu1') % 101;
        $s .= sprintf q(,"process":%.1f), (h($k, 'proc') % 1000) / 10 if h($k, 'has-proc') % 2;
    } elsif ($t eq 'FileTransferStarted') {
        $s .= sprintf q(,"transferId":"tr-%08x"), h($k, 'transfer');
    } elsif ($t eq 'FileTransferProgress') {
        my $total = 1000 + h($k, 'total') % 1_000_000;
        $s .= sprintf q(,"transferId":"tr-%08x","bytesDone":%d,"bytesTotal":%d),
            h($k, 'transfer'), h($k, 'done') % ($total + 1), $total;
    } elsif ($variant ne '') {
        # AppOpened: nothing but the time and the type; the sibling says
        # which window
        $s .= q(,"attributes":{"window":2});
    }
    return $s . ($variant eq '' ? qq(,"id":"u$i"}) : qq(,"id":"t$i"}));
}

sub record {
    my ($e, $event, $received_ms, $node) = @_;
    my $seq = defined $e->{seq} ? $e->{seq} : 'null';
    return "$e->{client}\t"
        . qq({"schema":1,"type":"$e->{type}","time":"@{[iso($e->{time_ms})]}")
        . qq(,"timeMs":$e->{time_ms},"seq":$seq)
        . qq(,"receivedAt":"@{[iso($received_ms)]}","receivedAtMs":$received_ms)
        . q(,"sentAt":null,"sentAtMs":null,"skewMs":null)
        . qq(,"node":"$node")
        . qq(,"client":{"id":"$e->{client}","version":"6.04","os":"Windows","osVersion":"10"})
        . qq(,"event":$event}\n);
}

select((select(STDOUT), $| = 0)[0]);
for my $i ($from .. $from + $count - 1) {
    next if defined $only && !$only{$i};
    next if $pick < 1 && frac($i, 'pick', $mode) >= $pick;
    my $e = event_of($i);
    my $delay = 20 + h($i, 'delay') % 2000;
    my $node = h($i, 'node') % 3;
    if ($mode eq 'unique' || $mode eq 'identical') {
        print record($e, event_json($e, ''), $e->{time_ms} + $delay, 'edge-' . ($node + 1));
    } elsif ($mode eq 'resent') {
        print record($e, event_json($e, ''),
                     $e->{time_ms} + $delay + 60_000 + h($i, 'retry') % 60_000,
                     'edge-' . (($node + 1) % 3 + 1));
    } elsif (!defined $e->{seq}) {    # same-time-type
        print record($e, event_json($e, 't'), $e->{time_ms} + 20 + h($i, 'tdelay') % 2000,
                     'edge-' . (h($i, 'tnode') % 3 + 1));
    }
}
