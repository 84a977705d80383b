#!/usr/bin/env bash
# mcpu-report stops with one clear line and a non-zero exit code, and
# writes no report, when it has nothing to analyse: ClickHouse unreachable
# (1), the table empty (1), no event in the period asked for (1), the table
# missing (1); and when a setting is wrong (2: a threshold that is not a
# number, a time it cannot read, --to before --from).  -t says
# "configuration is ok" only when ClickHouse answers and has the table.
. "$(dirname "$0")/lib.sh"
. "$E2E_TOP/report/testdata/e2e_report.sh"

[ -x "$E2E_BIN/mcpu-report" ] || e2e_fail "$E2E_BIN/mcpu-report is missing (make)"

# expect CODE PATTERN ARGS...: mcpu-report ARGS exits CODE, its stderr
# matches the extended regex PATTERN, and stdout and the page are empty
expect() {
    local code=$1 pattern=$2 rc=0; shift 2
    rm -f "$E2E_WORK/page.html"
    "$E2E_BIN/mcpu-report" "$@" > "$E2E_WORK/out" 2> "$E2E_WORK/err" || rc=$?
    [ "$rc" -eq "$code" ] \
        || e2e_fail "mcpu-report $*: exit $rc, expected $code ($(cat "$E2E_WORK/err"))"
    grep -Eq -- "$pattern" "$E2E_WORK/err" \
        || e2e_fail "mcpu-report $*: stderr does not say /$pattern/: $(cat "$E2E_WORK/err")"
    [ ! -s "$E2E_WORK/out" ] && [ ! -e "$E2E_WORK/page.html" ] \
        || e2e_fail "mcpu-report $*: wrote a report although it failed"
    e2e_log "exit $rc: $(grep -E -- "$pattern" "$E2E_WORK/err" | head -1 | cut -c1-200)"
}

# 1. nothing listens
port=$(e2e_free_port)
expect 1 "cannot reach ClickHouse at http://127.0.0.1:$port" \
    --url "http://127.0.0.1:$port" --json --html "$E2E_WORK/page.html"

e2e_start_clickhouse
url=$E2E_CH_URL

# 2. the table is there, empty
expect 1 "mcpu.events at .* is empty" --url "$url" --json --html "$E2E_WORK/page.html"
"$E2E_BIN/mcpu-report" --url "$url" -t > "$E2E_WORK/out" 2>&1 \
    && grep -q "configuration is ok" "$E2E_WORK/out" \
    || e2e_fail "mcpu-report -t with the table: $(cat "$E2E_WORK/out")"

# 3. events, but none in the period
e2e_report_gen clients=24 hours=1
expect 1 "has no event from 2025-01-01T00:00:00.000Z to 2025-01-02T00:00:00.000Z" \
    --url "$url" --from 2025-01-01 --to 2025-01-02T00:00:00Z --json

# 4. no table
e2e_ch_query "DROP TABLE mcpu.events" > /dev/null
expect 1 "has no table mcpu.events" --url "$url" --html "$E2E_WORK/page.html"
expect 1 "has no table mcpu.events" --url "$url" -t

# 5. settings refused before anything is read
expect 2 'invalid value "lots" for option "rise"' --url "$url" --rise lots
expect 2 'invalid value "yesterday" for option "from"' --url "$url" --from yesterday
expect 2 'option "to" .* must be after option "from"' --url "$url" --from 2026-11-02T01:00:00Z --to 2026-11-02
expect 2 'invalid value "0" for option "min_support"' --url "$url" --min-support 0

e2e_log "PASS"
