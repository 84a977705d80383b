#!/usr/bin/env bash
# mcpu-report --json ranks the planted cause first, above every distractor
# (report/testdata/gen_events.sql: a version 6.03 that runs 10..15 points
# hotter all the time, random spikes on everyone, a small bump during every
# transfer):
#   1. FileTransferStarted on 6.04 / Windows (CPU +40..60 from 2..8 s after
#      it, for 20..40 s) is suspect #1, its P(rise) near 1, its lift far
#      above the next suspect's, and the drill-down's main branch is 6.04 /
#      Windows with FileTransferStarted before the CPU went over;
#   2. duplicate rows (one in 20 inserted again, merges stopped so both
#      copies stay stored) change nothing: the same JSON, byte for byte;
#   3. --from/--to keep to the period: the second hour alone has fewer rows
#      and the same top suspect;
#   4. a second dataset with another cause (IndexingStarted on 6.05 /
#      macOS, after half of its occurrences) ranks that one first in its
#      own run;
#   5. a dataset with the distractors and no cause has no strong suspect
#      (none with a conservative lift over 2).
. "$(dirname "$0")/lib.sh"
. "$E2E_TOP/report/testdata/e2e_report.sh"

[ -x "$E2E_BIN/mcpu-report" ] || e2e_fail "$E2E_BIN/mcpu-report is missing (make)"

START_S=1793577600          # 2026-11-02T00:00:00Z, gen_events.sql's start_s

report() {
    "$E2E_BIN/mcpu-report" --url "$E2E_CH_URL" "$@" 2>> "$E2E_WORK/report.log"
}

# first FILE: "event version os osVersion" of suspect #1 (null: all)
first() {
    perl -MJSON::PP -e '
        local $/; my $d = decode_json(<>); my $s = $d->{suspects}[0] or exit 1;
        print join(" ", map { $s->{$_} // "null" } qw(event version os osVersion)), "\n"' "$1"
}

# field FILE PERL-EXPRESSION-ON-$d: prints it
field() {
    perl -MJSON::PP -e 'binmode STDOUT, ":utf8"; local $/; my $d = decode_json(<STDIN>); print eval($ARGV[0]), "\n"' "$2" < "$1"
}

e2e_start_clickhouse
e2e_ch_query "SYSTEM STOP MERGES mcpu.events" > /dev/null

# 1. the planted cause, first
e2e_report_gen
report --json > "$E2E_WORK/a.json" || e2e_fail "mcpu-report failed: $(tail -n 3 "$E2E_WORK/report.log")"
top=$(first "$E2E_WORK/a.json")
e2e_log "suspect #1: $top; $(field "$E2E_WORK/a.json" '$d->{headline}')"
case $top in
"FileTransferStarted 6.04 Windows "*) ;;
*) e2e_fail "suspect #1 is \"$top\", not FileTransferStarted on 6.04 / Windows" ;;
esac

p=$(field "$E2E_WORK/a.json" '$d->{suspects}[0]{pRise}')
low=$(field "$E2E_WORK/a.json" '$d->{suspects}[0]{liftLow}')
next=$(field "$E2E_WORK/a.json" '$d->{suspects}[1] ? $d->{suspects}[1]{liftLow} : 0')
perl -e 'exit !($ARGV[0] > 0.9 && $ARGV[1] > 5 * $ARGV[2])' "$p" "$low" "$next" \
    || e2e_fail "suspect #1 is not clearly first: P(rise) $p, conservative lift $low, next $next"
e2e_log "P(rise) $p, conservative lift $low; the next suspect's $next"

# no distractor group appears with the planted event above it, and no
# suspect names 6.03 (hot, but not rising) above a lift of 2
bad=$(field "$E2E_WORK/a.json" 'join ",", map { "$_->{event}/" . ($_->{version} // "*") } grep { ($_->{version} // "") eq "6.03" && $_->{liftLow} > 2 } @{$d->{suspects}}')
[ -z "$bad" ] || e2e_fail "the hot version 6.03 is a strong suspect: $bad"

path=$(field "$E2E_WORK/a.json" 'my $v = $d->{drilldown}{children}[0]; my $o = $v->{children}[0]; "$v->{version} $o->{os} $o->{seen}[0]{event}"')
[ "$path" = "6.04 Windows FileTransferStarted" ] \
    || e2e_fail "the drill-down's main branch is \"$path\", not 6.04 Windows FileTransferStarted"

# 2. duplicates change nothing
rows=$(e2e_ch_query "SELECT count() FROM mcpu.events")
e2e_report_duplicates 20
stored=$(e2e_ch_query "SELECT count() FROM mcpu.events")
unique=$(e2e_ch_count)
[ "$stored" -gt "$rows" ] && [ "$unique" -eq "$rows" ] \
    || e2e_fail "duplicates not stored apart: $rows rows, then $stored stored, $unique unique"
e2e_log "duplicates: $((stored - rows)) rows stored twice ($stored stored, $unique unique)"
report --json > "$E2E_WORK/b.json" || e2e_fail "mcpu-report failed: $(tail -n 3 "$E2E_WORK/report.log")"
cmp -s "$E2E_WORK/a.json" "$E2E_WORK/b.json" \
    || e2e_fail "the duplicates changed the findings: $(diff "$E2E_WORK/a.json" "$E2E_WORK/b.json" | head -20)"
[ "$(field "$E2E_WORK/b.json" '$d->{rows}')" -eq "$unique" ] || e2e_fail "\"rows\" is not the unique events"

# 3. the period: the second hour only
report --json --from "$(( (START_S + 3600) * 1000 ))" --to "2026-11-02T02:00:00Z" > "$E2E_WORK/c.json" \
    || e2e_fail "mcpu-report --from --to failed: $(tail -n 3 "$E2E_WORK/report.log")"
n=$(field "$E2E_WORK/c.json" '$d->{rows}')
first_t=$(field "$E2E_WORK/c.json" '$d->{period}{first}')
[ "$n" -lt "$unique" ] && [ "$n" -gt 0 ] && [ "$first_t" = "2026-11-02T01:00:00.000Z" ] \
    || e2e_fail "--from/--to: $n rows of $unique, first event $first_t"
case $(first "$E2E_WORK/c.json") in
"FileTransferStarted 6.04 Windows "*) ;;
*) e2e_fail "second hour: suspect #1 is \"$(first "$E2E_WORK/c.json")\"" ;;
esac
e2e_log "--from/--to: the second hour, $n rows, same suspect #1"

# 4. another cause in another dataset
e2e_ch_query "TRUNCATE TABLE mcpu.events" > /dev/null
e2e_report_gen seed=2 plant=2
report --json > "$E2E_WORK/d.json" || e2e_fail "mcpu-report failed: $(tail -n 3 "$E2E_WORK/report.log")"
top=$(first "$E2E_WORK/d.json")
e2e_log "second dataset, suspect #1: $top"
case $top in
"IndexingStarted 6.05 macOS "*) ;;
*) e2e_fail "second dataset: suspect #1 is \"$top\", not IndexingStarted on 6.05 / macOS" ;;
esac
ft=$(field "$E2E_WORK/d.json" 'join ",", map { $_->{rank} } grep { $_->{event} eq "FileTransferStarted" && $_->{liftLow} > 2 } @{$d->{suspects}}')
[ -z "$ft" ] || e2e_fail "second dataset: FileTransferStarted, harmless there, is a strong suspect (rank $ft)"

# 5. distractors only
e2e_ch_query "TRUNCATE TABLE mcpu.events" > /dev/null
e2e_report_gen seed=3 plant=0
report --json > "$E2E_WORK/e.json" || e2e_fail "mcpu-report failed: $(tail -n 3 "$E2E_WORK/report.log")"
strong=$(field "$E2E_WORK/e.json" 'join ",", map { "$_->{event}/" . ($_->{version} // "*") . "/" . ($_->{os} // "*") . " $_->{liftLow}" } grep { $_->{liftLow} > 2 } @{$d->{suspects}}')
[ -z "$strong" ] || e2e_fail "no cause planted, yet strong suspects: $strong"
e2e_log "no cause: $(field "$E2E_WORK/e.json" 'scalar @{$d->{suspects}}') weak suspects at most; $(field "$E2E_WORK/e.json" '$d->{headline}' | cut -c1-120)..."

e2e_log "PASS"
