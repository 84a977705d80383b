#!/usr/bin/env bash
# mcpu-sink writes the clean topic to ClickHouse: 30,000 events and a few
# handcrafted ones, of which thousands are delivered twice (byte-identical
# copies: a re-delivery; and the same events through another node), plus a
# few records that cannot be mapped.  Queries that read through FINAL, or
# group by (client_id, dedup_key), count each unique event once; every
# stored row has the fields of its record (cpu mean, cores, session_id,
# transfer_id, seq, the event's own bytes, ...); the unmappable records are
# counted and skipped without stalling their partitions.  E2E_SEED picks
# other events.
. "$(dirname "$0")/lib.sh"

E2E_PARTITIONS=8
E2E_WAIT_S=${E2E_WAIT_S:-40}
SEED=${E2E_SEED:-31}
CLIENTS=300
N=30000
BASE_MS=$(e2e_now_ms)
w=$E2E_WORK

gen() {
    perl "$E2E_DEDUP_RECORDS" --seed "$SEED" --base-ms "$BASE_MS" --clients "$CLIENTS" "$@"
}

gen unique 0 "$N" > "$w/unique.txt"
gen --pick 0.1 identical 0 "$N" > "$w/identical.txt"
gen --pick 0.05 resent 0 "$N" > "$w/resent.txt"

# Handcrafted events, in the module's record layout: usage with three
# cores, as an array with a non-number, absent; sessionId and transferId
# as strings and as numbers; null seq and client fields; escapes in the
# event's bytes.
perl -e '
    my $t = $ARGV[0] - 5000;
    my @e = (
        [1, "CpuMeasurement", 7, q({"0":10,"1":20,"2":60.5}),
            q("sessionId":"s-1","usage":{"0":10,"1":20,"2":60.5})],
        [2, "CpuMeasurement", "null", "", q("sessionId":5,"usage":[50,25,"x"])],
        [3, "FileTransferCompleted", 9, "", q("sessionId":"s-2","transferId":"tr-x3","bytes":12)],
        [4, "AppOpened", "null", "", q("title":"a \"q\" \\\\ \u00e9\t","sessionId":"s-\u00e9")],
        [5, "CpuMeasurement", 11, "", q("transferId":12)],
    );
    for my $x (@e) {
        my ($i, $type, $seq, undef, $body) = @$x;
        my $ms = $t + $i;
        my @g = gmtime(int($ms / 1000));
        my $iso = sprintf "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", $g[5] + 1900, $g[4] + 1,
            @g[3, 2, 1, 0], $ms % 1000;
        my $client = $i == 4 ? q({"id":"0a:00:00:00:00:04","version":null,"os":null,"osVersion":null})
                             : qq({"id":"0a:00:00:00:00:0$i","version":"7.1","os":"macOS","osVersion":"14.2"});
        my $s = $seq eq "null" ? "" : qq(,"seq":$seq);
        print "0a:00:00:00:00:0$i\t"
            . qq({"schema":1,"type":"$type","time":"$iso","timeMs":$ms,"seq":$seq,)
            . qq("receivedAt":"$iso","receivedAtMs":@{[$ms + 40]},"sentAt":null,"sentAtMs":null,)
            . qq("skewMs":null,"node":"edge-9","client":$client,)
            . qq("event":{"type":"$type","time":$ms$s,$body,"id":"x$i"}}\n);
    }' "$BASE_MS" > "$w/crafted.txt"

# Records mcpu-sink cannot map: not JSON, another schema, no event, not an
# object
{
    printf 'k-bad-1\tnot json\n'
    printf 'k-bad-2\t{"schema":2,"type":"CpuMeasurement"}\n'
    printf 'k-bad-3\t{"schema":1,"type":"AppOpened","time":"2026-11-23T22:00:00.000Z","timeMs":1795471200000,"seq":null,"receivedAt":"2026-11-23T22:00:00.000Z","receivedAtMs":1795471200000,"sentAt":null,"sentAtMs":null,"skewMs":null,"node":"e","client":null}\n'
    printf 'k-bad-4\t[1,2,3]\n'
} > "$w/bad.txt"
bad=$(wc -l < "$w/bad.txt")

# the copies, shuffled: a re-delivery of records already stored
cat "$w/identical.txt" "$w/resent.txt" "$w/crafted.txt" | gen shuffle > "$w/copies.txt"
head -n $((N / 2)) "$w/unique.txt" > "$w/feed.1"
{ cat "$w/bad.txt" "$w/crafted.txt"; tail -n +$((N / 2 + 1)) "$w/unique.txt"; } > "$w/feed.2"

uniques=$((N + $(wc -l < "$w/crafted.txt")))
records=$(cat "$w"/feed.1 "$w"/feed.2 "$w/copies.txt" | wc -l)
e2e_log "$uniques unique events, $records records ($((records - uniques - bad)) copies, $bad unmappable)"

e2e_start_clickhouse
e2e_start_kafka
e2e_start_sink s --batch-ms 200 -X session.timeout.ms=3000 -X heartbeat.interval.ms=300

e2e_sink_feed "$w/feed.1"
e2e_sink_feed "$w/feed.2"
e2e_wait e2e_sink_inserted_at_least s $((uniques / 2)) \
    || e2e_fail "mcpu-sink does not insert: $(e2e_sink_summary s)"
e2e_sink_feed "$w/copies.txt"

e2e_wait e2e_sink_read_at_least s "$records" \
    || e2e_fail "mcpu-sink read only part of the topic: $(e2e_sink_summary s)"
e2e_wait e2e_sink_caught_up s || e2e_fail "mcpu-sink does not finish: $(e2e_sink_summary s)"
e2e_log "mcpu-sink: $(e2e_sink_summary s)"

skipped=$(e2e_sink_metric s mcpu_sink_records_skipped_total)
inserted=$(e2e_sink_metric s mcpu_sink_rows_inserted_total)
[ "$skipped" -eq "$bad" ] || e2e_fail "$skipped records skipped, $bad expected"
[ "$inserted" -eq $((records - bad)) ] \
    || e2e_fail "$inserted rows inserted, $((records - bad)) expected (every mappable record once)"
[ "$(e2e_log_count "$w/s.log" 'WARN skipped the record')" -ge 1 ] \
    || e2e_fail "no log line for the skipped records"

stored=$(e2e_ch_query "SELECT count() FROM mcpu.events")
final=$(e2e_ch_count)
grouped=$(e2e_ch_query "SELECT count() FROM (SELECT client_id, dedup_key FROM mcpu.events GROUP BY client_id, dedup_key)")
e2e_log "ClickHouse: $stored rows stored, count() FINAL $final, GROUP BY (client_id, dedup_key) $grouped"
[ "$final" -eq "$uniques" ] || e2e_fail "count() FINAL is $final, not $uniques"
[ "$grouped" -eq "$uniques" ] || e2e_fail "GROUP BY (client_id, dedup_key) counts $grouped, not $uniques"

# Every row against its record: one row per unique event id, each field
# as mapped from the record (for events sent twice through two nodes,
# node and received_ms of either copy).
e2e_ch_query "SELECT client_id, dedup_key, type, time, time_ms, seq, received_ms, node,
                     client_version, client_os, os_version, session_id, cpu, cores,
                     transfer_id, event
              FROM mcpu.events FINAL FORMAT TabSeparated" > "$w/rows.tsv"
perl -MPOSIX=strftime -MJSON::PP -e '
    my ($rows, @records) = @ARGV;
    my (%want, %alt, $bad);
    my $json = JSON::PP->new;
    my $fail = sub { print STDERR "@_\n"; $bad++ < 20 or exit 1 };
    for my $f (@records) {
        open my $in, "<", $f or die "$f: $!";
        while (my $l = <$in>) {
            chomp $l;
            my ($key, $v) = split /\t/, $l, 2;
            my $r = $json->decode($v);
            my $e = $r->{event};
            my ($bytes) = $v =~ /,"event":(\{.*\})\}$/ or die "no event: $l";
            my $id = $e->{id};
            my ($cpu, $cores) = (0, 0);
            if ($r->{type} eq "CpuMeasurement" && ref $e->{usage}) {
                my @u = ref $e->{usage} eq "HASH" ? values %{ $e->{usage} } : @{ $e->{usage} };
                my @n = grep { !ref && /^-?[0-9.]+(?:[eE][-+]?\d+)?$/ } @u;
                $cores = @u;
                my $s = 0; $s += $_ for @n;
                $cpu = @n ? $s / @n : 0;
            }
            my $c = $r->{client} || {};
            push @{ $alt{$id} }, "$r->{receivedAtMs}/$r->{node}";
            next if $want{$id};
            $want{$id} = {
                client_id => $key, type => $r->{type}, time_ms => $r->{timeMs},
                time => strftime("%Y-%m-%d %H:%M:%S", gmtime(int($r->{timeMs} / 1000))),
                seq => defined $r->{seq} ? $r->{seq} : -1,
                client_version => $c->{version} // "", client_os => $c->{os} // "",
                os_version => $c->{osVersion} // "",
                session_id => (defined $e->{sessionId} && !ref $e->{sessionId}
                               && $bytes =~ /"sessionId":"/) ? $e->{sessionId} : "",
                transfer_id => (defined $e->{transferId} && $bytes =~ /"transferId":"/)
                               ? $e->{transferId} : "",
                cpu => $cpu, cores => $cores, event => $bytes,
            };
        }
    }
    my %un = (t => "\t", n => "\n", r => "\r", b => "\b", f => "\f", 0 => "\0",
              "\\" => "\\", "\x27" => "\x27");
    my (%seen, $n);
    open my $in, "<", $rows or die "$rows: $!";
    while (my $l = <$in>) {
        chomp $l;
        my @c = map { s{\\(.)}{$un{$1} // $1}ger } split /\t/, $l, -1;
        my %g;
        @g{qw(client_id dedup_key type time time_ms seq received_ms node client_version
              client_os os_version session_id cpu cores transfer_id event)} = @c;
        utf8::decode($g{$_}) for keys %g;
        my $id = $json->decode($g{event})->{id};
        $n++;
        $fail->("id $id stored twice through FINAL") if $seen{$id}++;
        my $x = $want{$id} or do { $fail->("row of an unknown event: $l"); next };
        for my $k (qw(client_id type time time_ms seq client_version client_os os_version
                      session_id transfer_id cores event)) {
            $fail->("$id: $k is \"$g{$k}\", expected \"$x->{$k}\"") if $g{$k} ne $x->{$k};
        }
        $fail->("$id: cpu is $g{cpu}, expected $x->{cpu}") if abs($g{cpu} - $x->{cpu}) > 1e-9;
        $fail->("$id: received_ms/node $g{received_ms}/$g{node} is no copy'"'"'s")
            unless grep { $_ eq "$g{received_ms}/$g{node}" } @{ $alt{$id} };
        my $dk = $x->{seq} >= 0 ? sprintf("53%016x", $x->{seq})
               : sprintf("43%016x", $x->{time_ms}) . unpack("H*", $x->{type}) . "00" . "[0-9a-f]{32}";
        $fail->("$id: dedup_key $g{dedup_key} is not mcpu-dedup'"'"'s ($dk)") unless $g{dedup_key} =~ /^$dk$/;
    }
    my @missing = grep { !$seen{$_} } sort keys %want;
    $fail->(scalar(@missing) . " events missing: @missing[0 .. ($#missing < 9 ? $#missing : 9)]") if @missing;
    exit($bad ? 1 : 0);
' "$w/rows.tsv" "$w/unique.txt" "$w/crafted.txt" "$w/identical.txt" "$w/resent.txt" \
    || e2e_fail "the stored rows differ from their records (above)"

# a few known events, spelled out
row() { e2e_ch_query "SELECT seq, session_id, cpu, cores, transfer_id, client_version FROM mcpu.events FINAL WHERE client_id = '$1' FORMAT TabSeparated"; }
[ "$(row 0a:00:00:00:00:01)" = "$(printf '7\ts-1\t30.166666666666668\t3\t\t7.1')" ] || e2e_fail "x1: $(row 0a:00:00:00:00:01)"
[ "$(row 0a:00:00:00:00:02)" = "$(printf -- '-1\t\t37.5\t3\t\t7.1')" ] || e2e_fail "x2: $(row 0a:00:00:00:00:02)"
[ "$(row 0a:00:00:00:00:03)" = "$(printf '9\ts-2\t0\t0\ttr-x3\t7.1')" ] || e2e_fail "x3: $(row 0a:00:00:00:00:03)"
[ "$(row 0a:00:00:00:00:04)" = "$(printf -- '-1\ts-é\t0\t0\t\t')" ] || e2e_fail "x4: $(row 0a:00:00:00:00:04)"
[ "$(row 0a:00:00:00:00:05)" = "$(printf '11\t\t0\t0\t\t7.1')" ] || e2e_fail "x5: $(row 0a:00:00:00:00:05)"

e2e_sink_kill s TERM
[ "$E2E_EXIT_RC" -eq 0 ] || e2e_fail "mcpu-sink exited $E2E_EXIT_RC after SIGTERM, not 0"
e2e_log "ok: $uniques unique events stored once each (FINAL and GROUP BY) out of $records records, every field as its record's; $bad unmappable records skipped"
