#!/usr/bin/env bash
# mcpu-report --html writes a page that headless Chromium renders with its
# charts and the top suspect.  Two causes are planted (FileTransferStarted
# on 6.04 / Windows, IndexingStarted on 6.05 / macOS after half of its
# occurrences).  In the DOM Chromium builds (--dump-dom): the SVG charts
# (the lift bars, a "CPU around the event" chart for each of the top
# suspects, up to 3, one client's timeline) with their bars and lines; the
# element #top-suspect naming FileTransferStarted, 6.04 and Windows; the
# drill-down as nested <details>; no external resource referenced.  A
# screenshot (1280x2000) is kept in the work directory and copied to
# $BUILD/report-screenshot.png, for a person to look at.
. "$(dirname "$0")/lib.sh"
. "$E2E_TOP/report/testdata/e2e_report.sh"

[ -x "$E2E_BIN/mcpu-report" ] || e2e_fail "$E2E_BIN/mcpu-report is missing (make)"
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$CHROMIUM" ] || e2e_fail "chromium is missing (apt-get install chromium)"

# chromium FLAGS...: headless, its profile in the work directory
chromium() {
    HOME=$E2E_WORK timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
        --user-data-dir="$E2E_WORK/chromium" "$@" 2>> "$E2E_WORK/chromium.log"
}

# count FILE REGEX: the matches of the Perl regex in FILE
count() {
    RE=$2 perl -0777 -ne 'my $n = () = /$ENV{RE}/g; print "$n\n"' "$1"
}

e2e_start_clickhouse
e2e_report_gen plant=3

page=$E2E_WORK/report.html
"$E2E_BIN/mcpu-report" --url "$E2E_CH_URL" --html "$page" 2> "$E2E_WORK/report.log" \
    || e2e_fail "mcpu-report --html failed: $(tail -n 3 "$E2E_WORK/report.log")"
e2e_log "page: $(wc -c < "$page") bytes"

# self-contained: nothing loaded from elsewhere
if grep -Eq '<(script|link|img|iframe)[^>]*(src|href)=|@import|url\(' "$page"; then
    e2e_fail "the page references an external resource: $(grep -Eo '<(script|link|img|iframe)[^>]*(src|href)=[^>]*>|@import[^;]*|url\([^)]*\)' "$page" | head -3)"
fi

chromium --dump-dom "file://$page" > "$E2E_WORK/dom.html" \
    || e2e_fail "chromium --dump-dom failed: $(tail -n 3 "$E2E_WORK/chromium.log")"

suspects=$(count "$E2E_WORK/dom.html" '<tr[^>]*><td class="n">[0-9]+</td>')
close=$(( suspects < 3 ? suspects : 3 ))
svgs=$(count "$E2E_WORK/dom.html" '<svg[ >]')
bars=$(count "$E2E_WORK/dom.html" '<rect class="lift-low"')
profiles=$(count "$E2E_WORK/dom.html" '<polyline class="around"')
points=$(count "$E2E_WORK/dom.html" '<circle ')
timeline=$(count "$E2E_WORK/dom.html" '<polyline class="cpu"')
marks=$(count "$E2E_WORK/dom.html" '<path class="event-mark"')
details=$(count "$E2E_WORK/dom.html" '<details')
e2e_log "DOM: $suspects suspects, $svgs <svg>, $bars lift bars, $profiles profiles ($points points), $timeline timeline ($marks event marks), $details <details>"

[ "$suspects" -ge 2 ] || e2e_fail "$suspects suspects listed, expected the 2 planted causes"
[ "$svgs" -eq $(( 2 + close )) ] || e2e_fail "the DOM has $svgs <svg> elements, expected $(( 2 + close )) (bars, $close profiles, timeline)"
[ "$bars" -eq "$suspects" ] || e2e_fail "$bars lift bars for $suspects suspects"
[ "$profiles" -eq "$close" ] && [ "$points" -ge $(( 10 * close )) ] \
    || e2e_fail "$profiles profile lines with $points points, expected $close with points"
[ "$timeline" -eq 1 ] && [ "$marks" -ge 1 ] || e2e_fail "no timeline with event marks"
[ "$details" -ge 3 ] || e2e_fail "the drill-down has $details <details>, expected a tree (root, version, OS...)"

# the top suspect, as a person reads it
top=$(perl -0777 -ne 'print $1 if m{<section id="top-suspect">(.*?)</section>}s' "$E2E_WORK/dom.html" \
      | perl -pe 's/<[^>]+>//g; s/\s+/ /g')
e2e_log "#top-suspect: $top"
for want in FileTransferStarted 6.04 Windows; do
    case $top in *"$want"*) ;; *) e2e_fail "#top-suspect does not name $want: \"$top\"" ;; esac
done
perl -0777 -ne 'exit !m{<section id="top-suspect">.*?<span class="event">FileTransferStarted</span>.*?<span class="version">6\.04</span>.*?<span class="os">Windows</span>}s' \
    "$E2E_WORK/dom.html" || e2e_fail "#top-suspect's parts are not in their elements"

# the bars have a width: they are drawn, not empty
perl -0777 -ne 'exit !(m{<rect class="lift-low"[^>]*width="([0-9.]+)"}s && $1 > 10)' "$E2E_WORK/dom.html" \
    || e2e_fail "the top suspect's lift bar has no width"

chromium --screenshot="$E2E_WORK/report.png" --window-size=1280,2000 "file://$page" > /dev/null \
    || e2e_fail "chromium --screenshot failed: $(tail -n 3 "$E2E_WORK/chromium.log")"
[ -s "$E2E_WORK/report.png" ] || e2e_fail "no screenshot"
mkdir -p "$E2E_BIN"
cp "$E2E_WORK/report.png" "$E2E_BIN/report-screenshot.png"
e2e_log "screenshot: $E2E_WORK/report.png, copied to $E2E_BIN/report-screenshot.png ($(wc -c < "$E2E_WORK/report.png") bytes)"

e2e_log "PASS"
