# report/testdata/e2e_report.sh: mcpu-report's test helpers, sourced after
# tests/e2e/lib.sh (whose e2e_start_clickhouse, e2e_ch_query and E2E_CH_URL
# they use) by tests/e2e/test_report_*.sh and bench/report.sh.  Synthetic
# events are made inside ClickHouse by gen_events.sql and
# gen_duplicates.sql beside this file, whose headers list their parameters.

E2E_REPORT_DATA=$E2E_TOP/report/testdata

# e2e_report_sql FILE NAME=VALUE...: runs FILE's statements (each ends with
# ";" at the end of a line) one by one, every {NAME} replaced by VALUE
e2e_report_sql() {
    local file=$1 stmt; shift
    perl -e '
        my ($file, %p) = (shift, map { split /=/, $_, 2 } @ARGV);
        open my $fh, "<", $file or die "$file: $!\n";
        my $s = do { local $/; <$fh> };
        $s =~ s/^\s*--[^\n]*\n//mg;
        $s =~ s/\{(\w+)\}/defined $p{$1} ? $p{$1} : die "$file: no value for {$1}\n"/ge;
        print "$_\0" for grep { /\S/ } split /;\s*\n/, $s;' "$file" "$@" \
        > "$E2E_WORK/report-sql.stmts" || e2e_fail "e2e_report_sql $file: bad parameters"
    while IFS= read -r -d '' stmt; do
        curl -sS --fail-with-body "$E2E_CH_URL/" --data-binary "$stmt" \
            >> "$E2E_WORK/clickhouse.log" 2>&1 \
            || e2e_fail "ClickHouse refused a statement of $file ($(tail -n 2 "$E2E_WORK/clickhouse.log"))"
    done < "$E2E_WORK/report-sql.stmts"
}

# e2e_report_gen NAME=VALUE...: gen_events.sql with these parameters over
# the defaults: 240 clients, 2 hours from 2026-11-02T00:00:00Z, seed 1, the
# cause planted on FileTransferStarted, 6.04, Windows (plant=1; plant=2:
# IndexingStarted, 6.05, macOS; 3: both; 0: none)
e2e_report_gen() {
    e2e_report_sql "$E2E_REPORT_DATA/gen_events.sql" clients=240 hours=2 \
        start_s=1793577600 seed=1 plant=1 plant_v=2 plant_os=0 plant2_v=3 plant2_os=1 "$@"
}

# e2e_report_duplicates EVERY: one row in EVERY stored again (same key)
e2e_report_duplicates() {
    e2e_report_sql "$E2E_REPORT_DATA/gen_duplicates.sql" every="$1"
}
