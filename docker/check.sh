#!/usr/bin/env bash
# docker/check.sh: keeps docker/ honest on machines where Docker does not
# run (ours).  It cannot build the images; it checks that what they would
# do is what `make` and the tests do here, on Debian 12:
#
#  1. the Dockerfiles' build stages are `scripts/install-deps.sh` (make deps)
#     then `make module` / `make programs` (the batcher's, dedup's, the
#     sink's and the report's the same stage, shared in the build cache),
#     and those targets build here; what the Dockerfiles copy out of the
#     build exists;
#  2. every shared library the module, the batcher, mcpu-dedup, mcpu-sink
#     and mcpu-report link
#     belongs to a Debian package the runtime stage installs (or one it
#     depends on), and those packages exist in Debian 12, nginx at
#     nginx-dev's version;
#  3. docker/nginx.conf passes `nginx -t` with the module,
#     docker/mcpu-batcher.conf `mcpu-batcher -t`, docker/mcpu-dedup.conf
#     `mcpu-dedup -t`, docker/mcpu-sink.conf `mcpu-sink -t` and
#     docker/mcpu-report.conf `mcpu-report -t` (paths and addresses moved
#     to the local ones; a local ClickHouse, scripts/clickhouse.sh);
#  4. compose.yaml parses (Perl's core CPAN::Meta::YAML; python3-yaml too
#     when installed) and agrees with the other files: one ring path and one
#     shared volume, dedup's own state volume, the broker address, the
#     topics kafka-init creates (the last-seen one compacted, the clean one
#     with the raw one's partitions), the port, the files the images copy,
#     the start order, dedup's stop grace and single instance; ClickHouse
#     (pinned image, /ping health check, data volume, store/schema.sql in
#     the init directory, loopback-only port), the sink (the clean topic,
#     the clickhouse service, its start order and stop grace) and the
#     report (a one-shot of the profile "report" writing on its volume);
#  5. the configurations run as the containers would: the nginx
#     entrypoint prepares the ring directory, nginx's master as root with
#     workers as www-data, the batcher as www-data, mcpu-dedup as a user of
#     its own (here nobody), against the local Kafka (mcpu-kafka, with the
#     clean topic); an event posted without a token is accepted, reaches
#     Kafka, and GET answers it; /metrics answers; posted twice, it is in
#     the clean topic once; mcpu-dedup stops on SIGTERM with 0; mcpu-sink
#     puts it in ClickHouse once and stops on SIGTERM with 0; mcpu-report
#     reads it back (JSON) and exits 0.  Not as
#     root: everything runs as the current user and the uid/gid part is not
#     exercised.
#
# BUILD names the build directory, as for make (default build).
# Run by `make test` (scripts/test.sh); alone: bash docker/check.sh
. "$(dirname "$0")/../tests/e2e/lib.sh"

top=$E2E_TOP
dock=$top/docker
build=${BUILD:-build}
bin=$E2E_BIN
work=$E2E_WORK
E2E_WAIT_S=${E2E_WAIT_S:-30}

step() { e2e_log "docker/check: $*"; }

is_root=0
[ "$(id -u)" -ne 0 ] || is_root=1

# --- 1. the build stages are the make targets --------------------------------

step "1. the images' build stages are make's"

for f in nginx batcher dedup sink report; do
    df=$dock/Dockerfile.$f
    [ "$(grep -c '^FROM debian:12' "$df")" = 2 ] \
        || e2e_fail "$df: expected a build and a runtime stage FROM debian:12"
    grep -qx 'FROM debian:12 AS build' "$df" || e2e_fail "$df: no 'FROM debian:12 AS build'"
    grep -qx 'RUN scripts/install-deps.sh' "$df" \
        || e2e_fail "$df: the build stage does not run scripts/install-deps.sh"
done
grep -Eq '^RUN make module( |$)' "$dock/Dockerfile.nginx" \
    || e2e_fail "Dockerfile.nginx does not build with 'make module'"
for f in batcher dedup sink report; do
    grep -qx 'RUN make programs' "$dock/Dockerfile.$f" \
        || e2e_fail "Dockerfile.$f does not build with 'make programs'"
done
# the batcher's and dedup's build stages are one in the build cache only
# while they are the same instructions (comments aside)
build_stage() {
    perl -ne 'print if /^FROM debian:12 AS build$/ .. /^FROM debian:12$/ and !/^\s*(#|$)/' "$1"
}
for f in dedup sink report; do
    [ "$(build_stage "$dock/Dockerfile.batcher")" = "$(build_stage "$dock/Dockerfile.$f")" ] \
        || e2e_fail "Dockerfile.$f's build stage differs from Dockerfile.batcher's: they no longer share the cache"
done

# `make deps` is scripts/install-deps.sh, which the Dockerfiles run (make
# itself is not in a fresh debian:12 before it)
[ "$(make -s -n -C "$top" deps)" = scripts/install-deps.sh ] \
    || e2e_fail "'make deps' is no longer scripts/install-deps.sh; update the Dockerfiles"

# shellcheck disable=SC1091
. /etc/os-release
if [ "${ID:-}" = debian ] && [ "${VERSION_ID:-}" = 12 ]; then
    step "   this machine is Debian 12, as the images"
else
    step "   NOTE: this machine is ${PRETTY_NAME:-not Debian 12}: the images build on Debian 12"
fi

make -s -C "$top" BUILD="$build" module programs > "$work/make.log" 2>&1 \
    || e2e_fail "make BUILD=$build module programs failed (see make.log)"

# what the runtime stages copy: out of the build stage's build/, and from
# the repository
for f in nginx batcher dedup sink report; do
    df=$dock/Dockerfile.$f
    for p in $(perl -ne 'print "$1\n" if m{^COPY --from=build /src/build/(\S+)}' "$df"); do
        [ "$p" = nginx.version ] && continue
        [ -f "$bin/$p" ] || e2e_fail "$df copies build/$p, which make did not build"
    done
    for p in $(perl -ne 'print "$1\n" if /^COPY (?!--)(\S+) \S+$/' "$df"); do
        [ -e "$top/$p" ] || e2e_fail "$df copies $p, which does not exist"
    done
done
step "   make BUILD=$build module programs: ok; the files the images copy exist"

# --- 2. runtime libraries and packages --------------------------------------

step "2. the runtime stages install what the binaries link"

# the packages the last stage's apt-get install names
runtime_packages() {
    perl -0777 -ne '
        my $s = (split /^FROM /m)[-1];
        $s =~ s/\\\n/ /g;
        $s =~ /apt-get install -y --no-install-recommends\s+(.*?)\s*(?:&&|\n)/
            or die "$ARGV: no apt-get install in the runtime stage\n";
        (my $list = $1) =~ s/"([^"=]*)=[^"]*"/$1/g;    # "nginx=$(...)"
        for (split " ", $list) { s/"//g; s/=.*//; print "$_\n" }' "$1"
}

# the Debian package of a library path (usrmerge: dpkg knows one of the
# /lib and /usr/lib names)
lib_package() {
    local p out real
    real=$(readlink -f "$1")
    for p in "$1" "$real" "/usr$1" "${1#/usr}" "/usr$real" "${real#/usr}"; do
        if out=$(dpkg -S "$p" 2>/dev/null); then
            out=${out%%: *}
            echo "${out%%:*}"
            return 0
        fi
    done
    return 1
}

declare -A lib_pkg
check_runtime() {
    local df=$1 binary=$2 pkgs closure lib pkg
    pkgs=$(runtime_packages "$df") || e2e_fail "cannot read the runtime packages of $df"
    for pkg in $pkgs; do
        apt-cache show --no-all-versions "$pkg" > /dev/null 2>&1 \
            || e2e_fail "$df installs $pkg, which Debian 12's apt does not know here"
    done
    # shellcheck disable=SC2086
    closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
                  --no-breaks --no-replaces --no-enhances $pkgs 2>/dev/null | grep -v '^ ')
    ldd "$binary" | grep -q 'not found' && e2e_fail "ldd $binary: a library is missing here"
    for lib in $(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'); do
        # dpkg -S once per library (the binaries share most of them)
        if [ -z "${lib_pkg[$lib]:-}" ]; then
            lib_pkg[$lib]=$(lib_package "$lib") || e2e_fail "no Debian package owns $lib (linked by $binary)"
        fi
        pkg=${lib_pkg[$lib]}
        grep -qx "$pkg" <<< "$closure" \
            || e2e_fail "$binary links $lib of package $pkg, which $df does not install"
        step "   $(basename "$binary"): $(basename "$lib") from $pkg"
    done
}

check_runtime "$dock/Dockerfile.nginx" "$bin/ngx_http_mcpu_module.so"
check_runtime "$dock/Dockerfile.batcher" "$bin/mcpu-batcher"
check_runtime "$dock/Dockerfile.dedup" "$bin/mcpu-dedup"
check_runtime "$dock/Dockerfile.sink" "$bin/mcpu-sink"
check_runtime "$dock/Dockerfile.report" "$bin/mcpu-report"

# the runtime nginx is pinned to the version of nginx-dev the module was built against
v=$(dpkg-query -W -f '${Version}' nginx-dev)
apt-cache show "nginx=$v" > /dev/null 2>&1 \
    || e2e_fail "nginx $v (nginx-dev's version) is not installable"
grep -q '"nginx=$(cat /tmp/nginx.version)"' "$dock/Dockerfile.nginx" \
    || e2e_fail "Dockerfile.nginx no longer pins nginx to nginx-dev's version"
step "   nginx $v, as nginx-dev: installable"

# --- 3. the configurations parse --------------------------------------------

step "3. the configurations parse"

chmod 755 "$work"              # www-data's workers and batcher reach into it
ringdir=$work/mcpu
port=$(e2e_free_port)

# derive SRC DST FROM TO [FROM TO ...]: SRC with each FROM replaced by TO;
# each FROM must be there, so the check cannot drift from the file
derive() {
    perl -e '
        my ($src, $dst, @p) = @ARGV;
        open my $in, "<", $src or die "$src: $!\n";
        my $t = do { local $/; <$in> };
        while (my ($from, $to) = splice @p, 0, 2) {
            $t =~ s/\Q$from\E/$to/g
                or die "$src no longer says \"$from\": update docker/check.sh\n";
        }
        open my $out, ">", $dst or die "$dst: $!\n";
        print $out $t;' "$@"
}

derive "$dock/nginx.conf" "$work/nginx.conf" \
    "load_module /usr/lib/nginx/modules/ngx_http_mcpu_module.so;" \
    "load_module $bin/ngx_http_mcpu_module.so;" \
    "/var/lib/mcpu/" "$ringdir/" \
    "pid /run/nginx.pid;" "pid $work/nginx.pid;" \
    "listen 8080;" "listen 127.0.0.1:$port;" || e2e_fail "docker/nginx.conf changed"

conf_value() {   # conf_value FILE NAME: a batcher config file's value
    perl -ne 'print "$1\n" if /^\s*\Q'"$2"'\E\s*=\s*(.*?)\s*$/' "$1"
}
seen_topic=$(conf_value "$dock/mcpu-batcher.conf" last_seen_topic)
topic=$(conf_value "$dock/mcpu-batcher.conf" topic)
[ -n "$topic" ] && [ -n "$seen_topic" ] \
    || e2e_fail "docker/mcpu-batcher.conf: topic and last_seen_topic must be set"
clean_topic=$(conf_value "$dock/mcpu-dedup.conf" output_topic)
[ -n "$clean_topic" ] && [ -n "$(conf_value "$dock/mcpu-dedup.conf" input_topic)" ] \
    || e2e_fail "docker/mcpu-dedup.conf: input_topic and output_topic must be set"

# the ring directory as the entrypoint leaves it on the volume
if [ $is_root = 1 ]; then
    MCPU_RING_DIR=$ringdir "$dock/nginx-entrypoint.sh" true \
        || e2e_fail "docker/nginx-entrypoint.sh failed"
else
    mkdir -p "$ringdir"
fi

"$E2E_NGINX" -t -c "$work/nginx.conf" > "$work/nginx-t.log" 2>&1 \
    || e2e_fail "nginx -t refuses docker/nginx.conf (nginx-t.log)"
step "   nginx -t: docker/nginx.conf is ok with the module"

# the local Kafka as e2e_start_kafka starts it, with dedup's clean topic
# too, as many partitions as the raw one (as kafka-init creates them);
# lib.sh reads E2E_TOPIC (e2e_topic_has) and stops E2E_KAFKA_PID at exit
# shellcheck disable=SC2034
E2E_TOPIC=$topic
"$bin/mcpu-kafka" -t "$topic:$E2E_PARTITIONS" -t "$seen_topic:4" \
    -t "$clean_topic:$E2E_PARTITIONS" -f "$work/kafka.addr" \
    > /dev/null 2> "$work/kafka.log" &
# shellcheck disable=SC2034
E2E_KAFKA_PID=$!
e2e_wait test -s "$work/kafka.addr" || e2e_fail "mcpu-kafka did not start"
E2E_BROKERS=$(cat "$work/kafka.addr")
e2e_log "kafka at $E2E_BROKERS, topics $topic, $seen_topic, $clean_topic"
derive "$dock/mcpu-batcher.conf" "$work/mcpu-batcher.conf" \
    "ring = /var/lib/mcpu/ring" "ring = $ringdir/ring" \
    "brokers = kafka:9092" "brokers = $E2E_BROKERS" || e2e_fail "docker/mcpu-batcher.conf changed"
"$bin/mcpu-batcher" -t -c "$work/mcpu-batcher.conf" > "$work/batcher-t.log" 2>&1 \
    || e2e_fail "mcpu-batcher -t refuses docker/mcpu-batcher.conf (batcher-t.log)"
step "   mcpu-batcher -t: docker/mcpu-batcher.conf is ok"

statedir=$work/dedup
derive "$dock/mcpu-dedup.conf" "$work/mcpu-dedup.conf" \
    "state_dir = /var/lib/mcpu-dedup" "state_dir = $statedir" \
    "metrics_file = /var/lib/mcpu-dedup/" "metrics_file = $statedir/" \
    "brokers = kafka:9092" "brokers = $E2E_BROKERS" || e2e_fail "docker/mcpu-dedup.conf changed"
"$bin/mcpu-dedup" -t -c "$work/mcpu-dedup.conf" > "$work/dedup-t.log" 2>&1 \
    || e2e_fail "mcpu-dedup -t refuses docker/mcpu-dedup.conf (dedup-t.log)"
[ ! -e "$statedir" ] || e2e_fail "mcpu-dedup -t touched the state directory"
step "   mcpu-dedup -t: docker/mcpu-dedup.conf is ok"

# the local ClickHouse (scripts/clickhouse.sh, store/schema.sql applied),
# stopped at exit whatever happens (lib.sh's e2e_sink_cleanup, which also
# stops the sink first)
e2e_start_clickhouse
sink_topic=$(conf_value "$dock/mcpu-sink.conf" topic)
[ "$sink_topic" = "$clean_topic" ] \
    || e2e_fail "docker/mcpu-sink.conf reads '$sink_topic', mcpu-dedup writes '$clean_topic'"
derive "$dock/mcpu-sink.conf" "$work/mcpu-sink.conf" \
    "brokers = kafka:9092" "brokers = $E2E_BROKERS" \
    "clickhouse_url = http://clickhouse:8123" "clickhouse_url = $E2E_CH_URL" \
    || e2e_fail "docker/mcpu-sink.conf changed"
"$bin/mcpu-sink" -t -c "$work/mcpu-sink.conf" > "$work/sink-t.log" 2>&1 \
    || e2e_fail "mcpu-sink -t refuses docker/mcpu-sink.conf (sink-t.log)"
step "   mcpu-sink -t: docker/mcpu-sink.conf is ok"

reportdir=$work/report
derive "$dock/mcpu-report.conf" "$work/mcpu-report.conf" \
    "url = http://clickhouse:8123" "url = $E2E_CH_URL" \
    "html = /var/lib/mcpu-report/" "html = $reportdir/" \
    || e2e_fail "docker/mcpu-report.conf changed"
# (-t asks ClickHouse whether the table is there)
"$bin/mcpu-report" -t -c "$work/mcpu-report.conf" > "$work/report-t.log" 2>&1 \
    || e2e_fail "mcpu-report -t refuses docker/mcpu-report.conf (report-t.log)"
step "   mcpu-report -t: docker/mcpu-report.conf is ok, against ClickHouse at $E2E_CH_URL"

# --- 4. compose.yaml parses and agrees with the rest -------------------------

step "4. compose.yaml parses and agrees with the other files"

if python3 -c 'import yaml' 2> /dev/null; then
    python3 -c 'import yaml, sys; yaml.safe_load(open(sys.argv[1]))' "$dock/compose.yaml" \
        || e2e_fail "python3-yaml cannot parse docker/compose.yaml"
    step "   python3-yaml: ok"
else
    step "   NOTE: python3-yaml is not installed: only CPAN::Meta::YAML reads compose.yaml"
fi

perl -MCPAN::Meta::YAML -e '
    my ($dock, $topic, $seen_topic) = @ARGV;
    sub slurp { open my $f, "<", $_[0] or die "$_[0]: $!\n"; local $/; <$f> }
    my @errors;
    # ($$): the condition in scalar context, where a failed match is false, not ()
    sub want ($$) { my ($ok, $what) = @_; push @errors, $what unless $ok }

    my $y = CPAN::Meta::YAML->read("$dock/compose.yaml")
        or die "compose.yaml: " . CPAN::Meta::YAML->errstr . "\n";
    my $c = $y->[0];
    my $s = $c->{services} || {};
    want($s->{$_}, "no service $_") for qw(kafka kafka-init nginx batcher dedup clickhouse sink report);
    die map { "compose.yaml: $_\n" } @errors if @errors;

    my $nginx = slurp("$dock/nginx.conf");
    my $bconf = slurp("$dock/mcpu-batcher.conf");
    my %df = map { $_ => slurp("$dock/Dockerfile.$_") } qw(nginx batcher dedup sink report);
    my %dconf = slurp("$dock/mcpu-dedup.conf") =~ /^\s*([\w.]+)\s*=\s*(.*?)\s*$/mg;
    my %sconf = slurp("$dock/mcpu-sink.conf") =~ /^\s*([\w.]+)\s*=\s*(.*?)\s*$/mg;
    my %rconf = slurp("$dock/mcpu-report.conf") =~ /^\s*([\w.]+)\s*=\s*(.*?)\s*$/mg;

    # one ring: nginx.conf, the batcher config, the shared volume
    my ($ring) = $nginx =~ /^\s*mcpu_ring\s+(\S+)/m;
    my ($bring) = $bconf =~ /^ring\s*=\s*(\S+)/m;
    want(defined $ring && defined $bring && $ring eq $bring,
         "the ring: nginx.conf says " . ($ring // "nothing") . ", mcpu-batcher.conf " . ($bring // "nothing"));
    (my $dir = $ring // "") =~ s{/[^/]+$}{};
    my %vol;
    for my $svc (qw(nginx batcher)) {
        for (@{ $s->{$svc}{volumes} || [] }) {
            my ($src, $dst) = split /:/;
            $vol{$svc} = $src if $dst eq $dir;
        }
        want($vol{$svc}, "$svc does not mount a volume at $dir, the ring directory");
        want($df{$svc} =~ m{^RUN install -d -o www-data -g www-data -m 2770 \Q$dir\E}m,
             "Dockerfile.$svc does not prepare $dir for www-data");
    }
    want(($vol{nginx} // 1) eq ($vol{batcher} // 2), "nginx and the batcher mount different volumes at $dir");
    my $v = $vol{nginx} // "";
    want(ref $c->{volumes}{$v} eq "HASH" && ($c->{volumes}{$v}{driver} // "") eq "local",
         "the volume \"$v\" is not a top-level volume of the local driver");

    # the images: files, user, command
    for my $svc (qw(nginx batcher dedup sink report)) {
        my $b = $s->{$svc}{build} || {};
        want(($b->{context} // "") eq ".." && ($b->{dockerfile} // "") eq "docker/Dockerfile.$svc",
             "$svc is not built from the repository root with docker/Dockerfile.$svc");
    }
    want($df{nginx} =~ m{^COPY docker/nginx\.conf /etc/nginx/nginx\.conf$}m,
         "Dockerfile.nginx does not install docker/nginx.conf as /etc/nginx/nginx.conf");
    my ($module) = $nginx =~ /^load_module\s+(\S+);/m;
    want(defined $module && $df{nginx} =~ m{^COPY --from=build /src/build/ngx_http_mcpu_module\.so \Q$module\E$}m,
         "Dockerfile.nginx does not put the module where nginx.conf loads it");
    want($nginx =~ /^user www-data www-data;/m, "nginx.conf: the workers are not www-data");
    want($df{batcher} =~ /^USER www-data$/m, "Dockerfile.batcher: the batcher does not run as www-data");
    my ($bpath) = $df{batcher} =~ m{^COPY docker/mcpu-batcher\.conf (\S+)$}m;
    want(defined $bpath && $df{batcher} =~ /^CMD \["mcpu-batcher", "-c", "\Q$bpath\E"\]$/m,
         "Dockerfile.batcher does not run mcpu-batcher -c with docker/mcpu-batcher.conf");

    # dedup: its configuration in the image, its user, its stop
    my ($dpath) = $df{dedup} =~ m{^COPY docker/mcpu-dedup\.conf (\S+)$}m;
    want(defined $dpath && $df{dedup} =~ /^CMD \["mcpu-dedup", "-c", "\Q$dpath\E"\]$/m,
         "Dockerfile.dedup does not run mcpu-dedup -c with docker/mcpu-dedup.conf");
    want(defined $dpath && $df{dedup} =~ /mcpu-dedup -t -c \Q$dpath\E$/m,
         "Dockerfile.dedup does not check its configuration (mcpu-dedup -t) at build");
    my ($duser) = $df{dedup} =~ /^USER (\S+)$/m;
    want(defined $duser && $duser ne "root" && $duser ne "0", "Dockerfile.dedup: mcpu-dedup does not run as a user other than root");
    want($df{dedup} =~ /^STOPSIGNAL SIGTERM$/m, "Dockerfile.dedup: the stop signal is not SIGTERM");
    $duser //= "?";
    want($df{dedup} =~ /useradd --system [^\n]*\Q$duser\E \\$/m || $duser eq "nobody",
         "Dockerfile.dedup: the user $duser is neither created (useradd --system) nor nobody");

    # dedup: its state on a volume of its own, owned by its user
    my $sdir = $dconf{state_dir} // "";
    want($sdir =~ m{^/}, "mcpu-dedup.conf: state_dir is not an absolute path");
    my $dvol;
    for (@{ $s->{dedup}{volumes} || [] }) {
        my ($src, $dst) = split /:/;
        $dvol = $src if $dst eq $sdir;
    }
    want($dvol, "dedup does not mount a volume at $sdir, its state_dir");
    $dvol //= "";
    want(ref $c->{volumes}{$dvol} eq "HASH" && ($c->{volumes}{$dvol}{driver} // "") eq "local",
         "dedup: the volume \"$dvol\" is not a top-level volume of the local driver");
    want($dvol ne ($vol{nginx} // ""), "dedup keeps its state on the ring volume \"$dvol\"");
    my ($ogroup) = $duser eq "nobody" ? ("nogroup") : ($duser);
    want($df{dedup} =~ m{install -d -o \Q$duser\E -g \Q$ogroup\E -m 0?750 \Q$sdir\E( |$)}m,
         "Dockerfile.dedup does not prepare $sdir for $duser (0750)");
    if (defined(my $mf = $dconf{metrics_file})) {
        (my $mdir = $mf) =~ s{/[^/]+$}{};
        want($mdir eq $sdir || grep({ (split /:/)[1] eq $mdir } @{ $s->{dedup}{volumes} || [] }),
             "mcpu-dedup.conf: metrics_file $mf is neither in state_dir nor on a volume");
    }

    # dedup: the stop waits for flush_timeout_ms, the start for the topics
    my $flush = $dconf{flush_timeout_ms} // 10000;
    my ($g, $u) = ($s->{dedup}{stop_grace_period} // "10s") =~ /^(\d+)(ms|s|m)$/;
    my $grace_ms = defined $g ? $g * { ms => 1, s => 1000, m => 60000 }->{$u} : 0;
    want($grace_ms > $flush, "dedup: stop_grace_period (" . ($s->{dedup}{stop_grace_period} // "10s default")
         . ") is not longer than flush_timeout_ms ($flush)");
    my $dd = $s->{dedup}{depends_on} || {};
    want(($dd->{kafka}{condition} // "") eq "service_healthy", "dedup: depends_on kafka is not service_healthy");
    want(($dd->{"kafka-init"}{condition} // "") eq "service_completed_successfully",
         "dedup: depends_on kafka-init is not service_completed_successfully");
    want(($s->{dedup}{restart} // "") eq "unless-stopped", "dedup: restart is not unless-stopped");

    # dedup: one instance, as its fixed transactional.id requires; the
    # one-node Kafka lets transactions commit
    my $replicas = ($s->{dedup}{deploy} || {})->{replicas} // $s->{dedup}{scale} // 1;
    if (defined $dconf{"kafka.transactional.id"}) {
        want($replicas == 1, "dedup: $replicas replicas share one kafka.transactional.id");
        my $env = $s->{kafka}{environment} || {};
        want(($env->{KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR} // "") eq "1"
             && ($env->{KAFKA_TRANSACTION_STATE_LOG_MIN_ISR} // "") eq "1",
             "kafka: one node, but the transaction state log is not replication 1, min ISR 1");
    }

    # the port
    my ($port) = $nginx =~ /^\s*listen\s+(\d+);/m;
    want(defined $port && (grep { /:\Q$port\E$/ } @{ $s->{nginx}{ports} || [] })
         && $df{nginx} =~ /^EXPOSE \Q$port\E$/m,
         "nginx listens on " . ($port // "?") . ", which compose.yaml or EXPOSE does not publish");

    # Kafka: the broker addresses, the topics
    my $k;
    for (["mcpu-batcher.conf", $bconf], ["mcpu-dedup.conf", "brokers = " . ($dconf{brokers} // "")],
         ["mcpu-sink.conf", "brokers = " . ($sconf{brokers} // "")]) {
        my ($file, $text) = @$_;
        my ($bhost, $bport) = $text =~ /^brokers\s*=\s*([^:\s]+):(\d+)/m;
        $k = $s->{$bhost // ""};
        want($k && ($k->{environment}{KAFKA_ADVERTISED_LISTENERS} // "") =~ m{://\Q$bhost:$bport\E(,|$)},
             "$file: brokers " . ($bhost // "?") . ":" . ($bport // "?") . " is not a listener Kafka advertises");
    }
    want(($k->{environment}{KAFKA_PROCESS_ROLES} // "") =~ /controller/, "Kafka is not in KRaft mode");
    my $init = join " ", @{ $s->{"kafka-init"}{command} || [] };
    my %parts = $init =~ /--create [^\n]*--topic (\S+) --partitions (\d+) /g;
    my ($in, $out) = ($dconf{input_topic} // "", $dconf{output_topic} // "");
    for my $t ($topic, $seen_topic, $out) {
        want($init =~ /--create [^\n]*--topic \Q$t\E /, "kafka-init does not create $t");
    }
    want($in eq $topic, "mcpu-dedup.conf reads $in, the batcher writes $topic");
    want($out ne $in, "mcpu-dedup.conf: output_topic is input_topic");
    want(defined $parts{$in} && defined $parts{$out} && $parts{$in} == $parts{$out},
         "kafka-init creates $out with " . ($parts{$out} // "?") . " partitions, $in with "
         . ($parts{$in} // "?") . ": mcpu-dedup needs as many");
    want($init =~ /--describe --topic \Q$out\E(\s|$)/, "kafka-init does not describe $out");
    want($init =~ /--topic \Q$seen_topic\E [^\n]*--config cleanup\.policy=compact/,
         "kafka-init does not create $seen_topic compacted");
    my $d = $s->{batcher}{depends_on} || {};
    want(($d->{kafka}{condition} // "") eq "service_healthy", "batcher: depends_on kafka is not service_healthy");
    want(($d->{"kafka-init"}{condition} // "") eq "service_completed_successfully",
         "batcher: depends_on kafka-init is not service_completed_successfully");
    want(($d->{nginx}{condition} // "") eq "service_started", "batcher: depends_on nginx is not service_started");
    want($s->{kafka}{healthcheck}, "kafka has no healthcheck");

    # ClickHouse: a pinned image, healthy on /ping, its data on a local
    # volume, store/schema.sql in the init directory of the entrypoint, the
    # HTTP port published on the loopback of the host only
    my $ch = $s->{clickhouse};
    want(($ch->{image} // "") =~ m{^clickhouse/clickhouse-server:\d+\.\d+(\.\d+)*$},
         "clickhouse: image " . ($ch->{image} // "none") . " is not clickhouse/clickhouse-server at a pinned version");
    my $hc = join " ", @{ ($ch->{healthcheck} || {})->{test} || [] };
    want($hc =~ m{(wget|curl) .*http://(127\.0\.0\.1|localhost):8123/ping}, "clickhouse: no health check on /ping (8123)");
    my ($chvol, $schema);
    for (@{ $ch->{volumes} || [] }) {
        my ($src, $dst, $mode) = split /:/;
        $chvol = $src if $dst eq "/var/lib/clickhouse";
        if ($dst =~ m{^/docker-entrypoint-initdb\.d/[^/]+\.sql$}) {
            $schema = $src;
            want(($mode // "") eq "ro", "clickhouse: $src is not mounted read-only");
        }
    }
    want($chvol && ref $c->{volumes}{$chvol} eq "HASH" && ($c->{volumes}{$chvol}{driver} // "") eq "local",
         "clickhouse: /var/lib/clickhouse is not on a top-level volume of the local driver");
    want(($schema // "") eq "../store/schema.sql" && -f "$dock/../store/schema.sql",
         "clickhouse: ../store/schema.sql (which exists) is not mounted as a .sql of /docker-entrypoint-initdb.d");
    for my $svc (sort keys %$s) {
        for (@{ $s->{$svc}{ports} || [] }) {
            want(/^127\.0\.0\.1:/, "$svc publishes $_ beyond the loopback of the host");
        }
    }

    # the sink: the clean topic, Kafka, the clickhouse service
    want(($sconf{topic} // "") eq $out, "mcpu-sink.conf reads " . ($sconf{topic} // "?") . ", mcpu-dedup writes $out");
    for (["mcpu-sink.conf", $sconf{clickhouse_url}], ["mcpu-report.conf", $rconf{url}]) {
        my ($file, $u) = @$_;
        my ($uhost, $uport) = ($u // "") =~ m{^http://(?:[^@/]*@)?([^:/]+):(\d+)/?$};
        want(defined $uhost && $uhost eq "clickhouse" && $uport == 8123 && $s->{$uhost}
             && ($s->{$uhost}{image} // "") =~ m{^clickhouse/clickhouse-server:},
             "$file: " . ($u // "no ClickHouse URL") . " is not the HTTP port of the clickhouse service (http://clickhouse:8123)");
    }
    my ($spath) = $df{sink} =~ m{^COPY docker/mcpu-sink\.conf (\S+)$}m;
    want(defined $spath && $df{sink} =~ /^CMD \["mcpu-sink", "-c", "\Q$spath\E"\]$/m,
         "Dockerfile.sink does not run mcpu-sink -c with docker/mcpu-sink.conf");
    want(defined $spath && $df{sink} =~ /mcpu-sink -t -c \Q$spath\E$/m,
         "Dockerfile.sink does not check its configuration (mcpu-sink -t) at build");
    want($df{sink} =~ /^STOPSIGNAL SIGTERM$/m, "Dockerfile.sink: the stop signal is not SIGTERM");
    for my $svc (qw(sink report)) {
        my ($user) = $df{$svc} =~ /^USER (\S+)$/m;
        want(defined $user && $user ne "root" && $user ne "0"
             && ($df{$svc} =~ /useradd --system [^\n]*\Q$user\E( \\)?$/m || $user eq "nobody"),
             "Dockerfile.$svc: does not run as a user other than root that it creates (useradd --system)");
    }
    my $sd = $s->{sink}{depends_on} || {};
    want(($sd->{kafka}{condition} // "") eq "service_healthy", "sink: depends_on kafka is not service_healthy");
    want(($sd->{"kafka-init"}{condition} // "") eq "service_completed_successfully",
         "sink: depends_on kafka-init is not service_completed_successfully");
    want(($sd->{clickhouse}{condition} // "") eq "service_healthy", "sink: depends_on clickhouse is not service_healthy");
    my $sflush = $sconf{flush_timeout_ms} // 10000;
    my ($sg, $su) = ($s->{sink}{stop_grace_period} // "10s") =~ /^(\d+)(ms|s|m)$/;
    my $sgrace = defined $sg ? $sg * { ms => 1, s => 1000, m => 60000 }->{$su} : 0;
    want($sgrace > $sflush, "sink: stop_grace_period is not longer than flush_timeout_ms ($sflush)");
    want(($s->{sink}{restart} // "") eq "unless-stopped", "sink: restart is not unless-stopped");

    # the report: a one-shot of the profile "report", its page on its volume
    my $r = $s->{report};
    want(grep({ $_ eq "report" } @{ $r->{profiles} || [] }), "report: not under the profile \"report\"");
    want(($r->{restart} // "no") eq "no", "report: a one-shot, but restart is " . ($r->{restart} // ""));
    want((($r->{depends_on} || {})->{clickhouse}{condition} // "") eq "service_healthy",
         "report: depends_on clickhouse is not service_healthy");
    my ($rpath) = $df{report} =~ m{^COPY docker/mcpu-report\.conf (\S+)$}m;
    want(defined $rpath && $df{report} =~ /^CMD \["mcpu-report", "-c", "\Q$rpath\E"\]$/m,
         "Dockerfile.report does not run mcpu-report -c with docker/mcpu-report.conf");
    (my $hdir = $rconf{html} // "") =~ s{/[^/]+$}{};
    my $rvol;
    for (@{ $r->{volumes} || [] }) {
        my ($src, $dst) = split /:/;
        $rvol = $src if $dst eq $hdir;
    }
    want($hdir && $rvol && ref $c->{volumes}{$rvol} eq "HASH",
         "report: the html of mcpu-report.conf (" . ($rconf{html} // "none") . ") is not on a top-level volume");
    my ($ruser) = $df{report} =~ /^USER (\S+)$/m;
    $ruser //= "?";
    want($df{report} =~ m{install -d -o \Q$ruser\E -g \Q$ruser\E -m 0?755 \Q$hdir\E( |$)}m,
         "Dockerfile.report does not prepare $hdir for $ruser");

    die map { "docker/: $_\n" } @errors if @errors;
' "$dock" "$topic" "$seen_topic" 2> "$work/compose.log" || e2e_fail "$(cat "$work/compose.log")"
step "   compose.yaml: one ring ($ringdir -> /var/lib/mcpu), topics $topic, $seen_topic and $clean_topic, port 8080: consistent"
step "   compose.yaml: dedup with its own state volume, the clean topic as many partitions as the raw one: consistent"
step "   compose.yaml: clickhouse (schema in the init directory), the sink on $clean_topic, the report's profile: consistent"

# --- 5. run them as the containers do ----------------------------------------

step "5. nginx, the batcher, mcpu-dedup, mcpu-sink and mcpu-report with docker/'s configurations, as the containers run them"

if [ $is_root = 1 ]; then
    # the entrypoint, then nginx: master root, workers www-data
    MCPU_RING_DIR=$ringdir "$dock/nginx-entrypoint.sh" \
        "$E2E_NGINX" -c "$work/nginx.conf" > "$work/nginx-access.log" 2> "$work/nginx.log" &
else
    "$E2E_NGINX" -c "$work/nginx.conf" > "$work/nginx-access.log" 2> "$work/nginx.log" &
fi
E2E_NGINX_PID=$!
E2E_NGINX_PIDS="$E2E_NGINX_PIDS $E2E_NGINX_PID"
url=http://127.0.0.1:$port
e2e_wait curl -s -o /dev/null "$url/" || e2e_fail "nginx did not start with docker/nginx.conf"

# the batcher binary where www-data can run it, as the image's /usr/local/bin
mkdir -p "$work/bin"
cp "$bin/mcpu-batcher" "$work/bin/mcpu-batcher"
if [ $is_root = 1 ]; then
    setpriv --reuid=www-data --regid=www-data --clear-groups \
        "$work/bin/mcpu-batcher" -c "$work/mcpu-batcher.conf" >> "$work/batcher.log" 2>&1 &
else
    "$work/bin/mcpu-batcher" -c "$work/mcpu-batcher.conf" >> "$work/batcher.log" 2>&1 &
fi
E2E_BATCHER_PID=$!
E2E_BATCHER_PIDS="$E2E_BATCHER_PIDS $E2E_BATCHER_PID"

# mcpu-dedup now, so that its group join (a few seconds on the mock) runs
# while the rest is checked.  As in the image: a user of its own (nobody
# here: the image's mcpu-dedup does not exist on this machine), owning the
# state directory 0750 as the image prepares it.  The command line only
# writes the metrics more often, for the wait below.
cp "$bin/mcpu-dedup" "$work/bin/mcpu-dedup"
if [ $is_root = 1 ]; then
    install -d -o nobody -g nogroup -m 0750 "$statedir"
    setpriv --reuid=nobody --regid=nogroup --clear-groups \
        "$work/bin/mcpu-dedup" -c "$work/mcpu-dedup.conf" --metrics-interval-ms 200 \
        >> "$work/dedup.log" 2>&1 &
else
    install -d -m 0750 "$statedir"
    "$work/bin/mcpu-dedup" -c "$work/mcpu-dedup.conf" --metrics-interval-ms 200 \
        >> "$work/dedup.log" 2>&1 &
fi
dedup_pid=$!
E2E_BATCHER_PIDS="$E2E_BATCHER_PIDS $dedup_pid"   # stopped at exit whatever happens
metrics=$(conf_value "$work/mcpu-dedup.conf" metrics_file)
[ -n "$metrics" ] || e2e_fail "docker/mcpu-dedup.conf: no metrics_file, which this check reads"

# mcpu-sink now too, for the same reason, as a user of its own (nobody
# here; it keeps no state).  The command line adds a metrics file for the
# log, and a shorter session timeout for the mock cluster's group.
cp "$bin/mcpu-sink" "$work/bin/mcpu-sink"
sinkdir=$work/sink
if [ $is_root = 1 ]; then
    install -d -o nobody -g nogroup -m 0750 "$sinkdir"
    setpriv --reuid=nobody --regid=nogroup --clear-groups \
        "$work/bin/mcpu-sink" -c "$work/mcpu-sink.conf" --metrics-file "$sinkdir/sink.prom" \
        --metrics-interval-ms 200 -X session.timeout.ms=6000 >> "$work/sink.log" 2>&1 &
else
    install -d -m 0750 "$sinkdir"
    "$work/bin/mcpu-sink" -c "$work/mcpu-sink.conf" --metrics-file "$sinkdir/sink.prom" \
        --metrics-interval-ms 200 -X session.timeout.ms=6000 >> "$work/sink.log" 2>&1 &
fi
sink_pid=$!
E2E_SINK_PIDS="$E2E_SINK_PIDS $sink_pid"   # stopped at exit, before ClickHouse

client=docker-check-$$
event="{\"type\":\"AppOpened\",\"time\":$(date +%s%3N),\"seq\":1}"
post() {
    curl -sS -o "$work/post.json" -w '%{http_code}' -X POST "$url/event" \
         -H 'Content-Type: application/json' -H "Client-Id: $client" --data "$event"
}
code=$(post)
[ "$code" = 202 ] || e2e_fail "POST without a token: $code $(cat "$work/post.json"), not 202"
step "   POST /event without a token (JWT off): 202"

e2e_wait e2e_topic_has 1 || e2e_fail "the event did not reach Kafka"
grep -q "^$client"$'\t' "$work/topic.txt" || e2e_fail "the record in Kafka is not keyed $client"
step "   the event is in Kafka's $topic, keyed $client"

seen() {
    [ "$(curl -sS -o "$work/get.json" -w '%{http_code}' -H "Client-Id: $client" "$url/event")" = 200 ]
}
e2e_wait seen || e2e_fail "GET /event did not answer the acknowledged event: $(cat "$work/get.json")"
step "   GET /event answers it (the last-seen table is readable by the workers)"

code=$(curl -sS -o "$work/metrics.txt" -w '%{http_code}' "$url/metrics")
[ "$code" = 200 ] && grep -q '^mcpu_' "$work/metrics.txt" \
    || e2e_fail "GET /metrics: $code, $(head -c 300 "$work/metrics.txt")"
step "   GET /metrics: 200, $(grep -c '^mcpu_' "$work/metrics.txt") mcpu_ lines"

# mcpu-dedup: the same event again (a client's resend, same seq) is a
# second record of the raw topic and no second one of the clean topic
code=$(post)
[ "$code" = 202 ] || e2e_fail "the second POST: $code $(cat "$work/post.json"), not 202"
e2e_wait e2e_topic_has 2 || e2e_fail "the resent event did not reach Kafka"
step "   the event posted again: twice in $topic"

metric() {   # metric NAME: its value in mcpu-dedup's metrics file, or -1
    perl -e 'my ($n, $f) = @ARGV; my $v = -1;
             if (open my $h, "<", $f) { while (<$h>) { $v = $1 if /^\Q$n\E (\S+)$/ } }
             print "$v\n"' "$1" "$metrics"
}
dedup_read_both() { [ "$(metric mcpu_dedup_records_read_total)" -ge 2 ]; }
if ! e2e_wait dedup_read_both; then
    e2e_fail "mcpu-dedup did not read the two records within ${E2E_WAIT_S}s ($(metric mcpu_dedup_records_read_total) read)"
fi
if [ $is_root = 1 ]; then
    [ "$(ps -o user= -p "$dedup_pid" | tr -d ' ')" = nobody ] || e2e_fail "mcpu-dedup does not run as nobody"
    [ "$(stat -c '%U:%G %a' "$statedir")" = "nobody:nogroup 750" ] \
        || e2e_fail "state directory: $(stat -c '%U:%G %a' "$statedir"), not nobody:nogroup 750"
    [ "$(stat -c %U "$statedir/data.mdb")" = nobody ] || e2e_fail "the state is not nobody's"
fi

kill -TERM "$dedup_pid"
e2e_wait_exit "$dedup_pid" 20000 || e2e_fail "mcpu-dedup did not stop within 20 s of SIGTERM"
[ "$E2E_EXIT_RC" = 0 ] || e2e_fail "mcpu-dedup exited $E2E_EXIT_RC on SIGTERM, not 0 (dedup.log)"
step "   mcpu-dedup: SIGTERM, exit 0 in $E2E_EXIT_MS ms"

kcat -b "$E2E_BROKERS" -t "$clean_topic" -C -e -q -o beginning -X isolation.level=read_committed \
    -f '%k\t%s\n' > "$work/clean.txt" 2>> "$work/kcat.log" || e2e_fail "kcat cannot read $clean_topic"
[ "$(wc -l < "$work/clean.txt")" = 1 ] \
    || e2e_fail "$clean_topic holds $(wc -l < "$work/clean.txt") records, not 1"
[ "$(head -n 1 "$work/clean.txt")" = "$(head -n 1 "$work/topic.txt")" ] \
    || e2e_fail "the record of $clean_topic is not the raw one: $(head -c 300 "$work/clean.txt")"
[ "$(metric mcpu_dedup_records_unique_total)" = 1 ] \
    && [ "$(metric 'mcpu_dedup_duplicates_total{key="seq"}')" = 1 ] \
    || e2e_fail "mcpu-dedup's metrics: not 1 unique and 1 duplicate by seq: $(grep -v '^#' "$metrics" | head -n 12)"
step "   $clean_topic: the event once, keyed $client; metrics: 2 read, 1 unique, 1 duplicate (seq)"

# mcpu-sink: the clean record into ClickHouse, once
ch_has_one() { [ "$(e2e_ch_count)" -ge 1 ]; }
e2e_wait ch_has_one || e2e_fail "mcpu-sink did not put the event in ClickHouse within ${E2E_WAIT_S}s"
if [ $is_root = 1 ]; then
    [ "$(ps -o user= -p "$sink_pid" | tr -d ' ')" = nobody ] || e2e_fail "mcpu-sink does not run as nobody"
fi
kill -TERM "$sink_pid"
e2e_wait_exit "$sink_pid" 20000 || e2e_fail "mcpu-sink did not stop within 20 s of SIGTERM"
[ "$E2E_EXIT_RC" = 0 ] || e2e_fail "mcpu-sink exited $E2E_EXIT_RC on SIGTERM, not 0 (sink.log)"
sink_stop_ms=$E2E_EXIT_MS
n=$(e2e_ch_count)
[ "$n" = 1 ] || e2e_fail "mcpu.events FINAL holds $n rows, not 1"
[ "$(e2e_ch_count "client_id = '$client'")" = 1 ] \
    || e2e_fail "the row in ClickHouse is not $client's: $(e2e_ch_query 'SELECT client_id, type FROM mcpu.events')"
step "   mcpu-sink: the event once in ClickHouse's mcpu.events, $client's; SIGTERM, exit 0 in $sink_stop_ms ms"

# mcpu-report on it, as the report service runs it (its user, its output
# directory prepared as the image does), the JSON too for this check.  One
# event is little data: a report with no suspect, exit 0.
cp "$bin/mcpu-report" "$work/bin/mcpu-report"
report_args=(-c "$work/mcpu-report.conf" --json "$reportdir/report.json" --timeout 20)
if [ $is_root = 1 ]; then
    install -d -o nobody -g nogroup -m 0755 "$reportdir"
    timeout 30 setpriv --reuid=nobody --regid=nogroup --clear-groups \
        "$work/bin/mcpu-report" "${report_args[@]}" > "$work/report.log" 2>&1
else
    install -d -m 0755 "$reportdir"
    timeout 30 "$work/bin/mcpu-report" "${report_args[@]}" > "$work/report.log" 2>&1
fi
rc=$?
[ $rc = 0 ] || e2e_fail "mcpu-report exited $rc on ClickHouse's one event (report.log)"
perl -MJSON::PP -e 'local $/; open my $f, "<", $ARGV[0] or die "$ARGV[0]: $!\n";
                    my $j = decode_json(<$f>);
                    ref $j eq "HASH" && ref $j->{suspects} eq "ARRAY" or die "no suspects array\n"' \
    "$reportdir/report.json" 2>> "$work/report.log" || e2e_fail "mcpu-report's JSON does not parse (report.log)"
grep -qi '<html' "$reportdir/report.html" || e2e_fail "mcpu-report wrote no HTML page at $reportdir/report.html"
step "   mcpu-report: exit 0, report.html and report.json ($(grep -o '[0-9][0-9]* suspects of [0-9][0-9]*' "$work/report.log" | head -n 1))"

if [ $is_root = 1 ]; then
    perms() { stat -c '%U:%G %a' "$1"; }
    [ "$(perms "$ringdir")" = "www-data:www-data 2770" ] \
        || e2e_fail "ring directory: $(perms "$ringdir"), not www-data:www-data 2770"
    [ "$(perms "$ringdir/ring")" = "root:www-data 660" ] \
        || e2e_fail "ring: $(perms "$ringdir/ring"), not root:www-data 660"
    [ "$(perms "$ringdir/ring.seen")" = "www-data:www-data 640" ] \
        || e2e_fail "last-seen table: $(perms "$ringdir/ring.seen"), not www-data:www-data 640"
    [ "$(ps -o user= -p "$E2E_BATCHER_PID" | tr -d ' ')" = www-data ] \
        || e2e_fail "the batcher does not run as www-data"
    workers=$(ps -o user= --ppid "$E2E_NGINX_PID" | sort -u | tr -d ' ')
    [ "$workers" = www-data ] || e2e_fail "nginx's workers run as '$workers', not www-data"
    step "   master root, workers and batcher www-data; ring root:www-data 660, table www-data 640"
    step "   mcpu-dedup as nobody (the image's mcpu-dedup user), its state nobody:nogroup 750"
    step "   mcpu-sink and mcpu-report as nobody (the images' users of their own)"
else
    step "   NOTE: not root: the uid/gid arrangement (www-data, dedup's user) was not exercised"
fi

step "ok"
