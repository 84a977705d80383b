#!/usr/bin/env bash
# The whole pipeline, end to end: mcpu-sim's clients post through nginx with
# the module, the batcher writes the raw topic, mcpu-dedup the clean topic,
# mcpu-sink ClickHouse, and mcpu-report --json must rank the cause the
# scenario planted first, above every distractor (a version that runs
# hotter, random spikes, a small bump during every transfer).  Twice, with
# two scenarios whose causes differ in event type, version and OS
# (sim/cause-transfer.conf, sim/cause-indexing.conf), the store emptied in
# between.  E2E_PIPELINE_CLIENTS and E2E_PIPELINE_HOURS size the runs.
. "$(dirname "$0")/lib.sh"

CLIENTS=${E2E_PIPELINE_CLIENTS:-100}
HOURS=${E2E_PIPELINE_HOURS:-2}
# The local Kafka keeps about 5 MiB per partition and drops the oldest
# silently: 32 partitions hold a run (about 115,000 records of 450 bytes,
# 1.6 MiB a partition) with room to spare even before dedup reads them.
E2E_PARTITIONS=32
# the local Kafka makes a member wait session.timeout.ms at a rebalance
group_args=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500)

[ -x "$E2E_BIN/mcpu-report" ] || e2e_fail "$E2E_BIN/mcpu-report is missing (make)"

e2e_sim_key
e2e_start_kafka
e2e_start_clickhouse
e2e_start_nginx 2 "$(e2e_sim_directives "$E2E_TOP/sim/cause-transfer.conf")"
E2E_URL=http://127.0.0.1:$E2E_PORT/event
e2e_start_batcher
e2e_start_dedup d "${group_args[@]}"
e2e_start_sink s "${group_args[@]}"

# the simulator starts once both consumers hold their partitions
dedup_ready() { [ "$(e2e_dedup_owned d)" -eq "$E2E_PARTITIONS" ]; }
sink_ready() { [ "$(e2e_sink_owned s)" -eq "$E2E_PARTITIONS" ]; }
e2e_wait dedup_ready || e2e_fail "mcpu-dedup did not take the partitions: $(e2e_dedup_summary d)"
e2e_wait sink_ready || e2e_fail "mcpu-sink did not take the partitions: $(e2e_sink_summary s)"

stored_at_least() { [ "$(e2e_ch_count)" -ge "$1" ]; }

run=0
for scenario in cause-transfer cause-indexing; do
    run=$((run + 1))
    e2e_sim_start "$scenario" "$E2E_TOP/sim/$scenario.conf" \
        --clients "$CLIENTS" --hours "$HOURS" --seed "$((41 + run))"
    e2e_sim_wait "$scenario" 180
    accepted=$(e2e_sim_field "$scenario" accepted)
    [ "${accepted:-0}" -gt 0 ] || e2e_fail "$scenario: nothing accepted"

    # every accepted event through dedup and the sink into the store, once
    E2E_WAIT_SECONDS=180 e2e_wait stored_at_least "$accepted" \
        || e2e_fail "$scenario: $(e2e_ch_count) events stored of $accepted accepted;" \
                    "dedup: $(e2e_dedup_summary d); sink: $(e2e_sink_summary s)"
    stored=$(e2e_ch_count)
    [ "$stored" -eq "$accepted" ] \
        || e2e_fail "$scenario: $stored events stored, $accepted accepted (each must be stored once)"
    e2e_log "$scenario: $accepted events accepted, the same $stored stored once each"

    "$E2E_BIN/mcpu-report" --url "$E2E_CH_URL" --json > "$E2E_WORK/$scenario.report.json" \
        2> "$E2E_WORK/$scenario.report.log" \
        || e2e_fail "$scenario: mcpu-report failed: $(cat "$E2E_WORK/$scenario.report.log")"

    # the planted cause (the truth file) against the first suspect
    perl -MJSON::PP -e '
        my ($truth, $report, $name) = @ARGV;
        sub slurp { local $/; open my $f, "<", $_[0] or die "$_[0]: $!\n"; decode_json(<$f>) }
        my $t = slurp($truth);
        my $r = slurp($report);
        my ($cause) = @{ $t->{causes} || [] };
        $cause && defined $cause->{event} or die "the truth file names no planted cause\n";
        my $s = $r->{suspects} or die "no suspects in the report\n";
        @$s or die "the report names no suspect\n";
        my $top = $s->[0];
        printf "%s: planted %s on %s / %s; suspects:\n", $name, $cause->{event},
            $cause->{version}, $cause->{os};
        for my $i (0 .. ($#$s < 4 ? $#$s : 4)) {
            my $x = $s->[$i];
            printf "  %d. %s on %s / %s %s: lift %.1f, support %d, %d clients\n", $i + 1,
                $x->{event}, $x->{version} // "all", $x->{os} // "all",
                $x->{osVersion} // "", $x->{lift}, $x->{support}, $x->{clients};
        }
        # the top suspect must have every field the cause names, and the
        # cause names its event, version and OS in both scenarios
        my @bad = grep { !defined $cause->{$_} || ($top->{$_} // "") ne $cause->{$_} }
            qw(event version os);
        die "the first suspect is not the planted cause\n" if @bad;
    ' "$E2E_WORK/$scenario.truth.json" "$E2E_WORK/$scenario.report.json" "$scenario" >&2 \
        || e2e_fail "$scenario: mcpu-report did not rank the planted cause first" \
                    "($E2E_WORK/$scenario.report.json)"

    # the next scenario starts from an empty store
    [ "$run" -eq 2 ] || e2e_ch_query "TRUNCATE TABLE mcpu.events" > /dev/null
done

e2e_log "ok: both planted causes ranked first, through nginx, the batcher, mcpu-dedup, mcpu-sink and ClickHouse"
