#!/usr/bin/env bash
# docker/check.sh: keeps docker/ honest on machines where Docker does not
# run (ours).  It cannot build the images; it checks that what they would
# do is what `make` and the tests do here, on Debian 12:
#
#  1. the Dockerfiles' build stages are `scripts/install-deps.sh` (make deps)
#     then `make module` / `make programs`, and those targets build here;
#     what the Dockerfiles copy out of the build exists;
#  2. every shared library the module and the batcher link belongs to a
#     Debian package the runtime stage installs (or one it depends on), and
#     those packages exist in Debian 12, nginx at nginx-dev's version;
#  3. docker/nginx.conf passes `nginx -t` with the module, and
#     docker/mcpu-batcher.conf passes `mcpu-batcher -t` (paths moved to a
#     temporary directory);
#  4. compose.yaml parses (Perl's core CPAN::Meta::YAML; python3-yaml too
#     when installed) and agrees with the other files: one ring path and one
#     shared volume, the broker address, the topics kafka-init creates (the
#     last-seen one compacted), the port, the files the images copy;
#  5. the two configurations run as the containers would: the nginx
#     entrypoint prepares the ring directory, nginx's master as root with
#     workers as www-data, the batcher as www-data, against the local Kafka
#     (mcpu-kafka); an event posted without a token is accepted, reaches
#     Kafka, and GET answers it; /metrics answers.  Not as root: everything
#     runs as the current user and the uid/gid part is not exercised.
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

for f in nginx batcher; do
    df=$dock/Dockerfile.$f
    [ "$(grep -c '^FROM debian:12' "$df")" = 2 ] \
        || e2e_fail "$df: expected a build and a runtime stage FROM debian:12"
    grep -qx 'FROM debian:12 AS build' "$df" || e2e_fail "$df: no 'FROM debian:12 AS build'"
    grep -qx 'RUN scripts/install-deps.sh' "$df" \
        || e2e_fail "$df: the build stage does not run scripts/install-deps.sh"
done
grep -Eq '^RUN make module( |$)' "$dock/Dockerfile.nginx" \
    || e2e_fail "Dockerfile.nginx does not build with 'make module'"
grep -qx 'RUN make programs' "$dock/Dockerfile.batcher" \
    || e2e_fail "Dockerfile.batcher does not build with 'make programs'"

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
for f in nginx batcher; do
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
        pkg=$(lib_package "$lib") || e2e_fail "no Debian package owns $lib (linked by $binary)"
        grep -qx "$pkg" <<< "$closure" \
            || e2e_fail "$binary links $lib of package $pkg, which $df does not install"
        step "   $(basename "$binary"): $(basename "$lib") from $pkg"
    done
}

check_runtime "$dock/Dockerfile.nginx" "$bin/ngx_http_mcpu_module.so"
check_runtime "$dock/Dockerfile.batcher" "$bin/mcpu-batcher"

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

E2E_TOPIC=$topic
E2E_SEEN_TOPIC=$seen_topic
e2e_start_kafka
derive "$dock/mcpu-batcher.conf" "$work/mcpu-batcher.conf" \
    "ring = /var/lib/mcpu/ring" "ring = $ringdir/ring" \
    "brokers = kafka:9092" "brokers = $E2E_BROKERS" || e2e_fail "docker/mcpu-batcher.conf changed"
"$bin/mcpu-batcher" -t -c "$work/mcpu-batcher.conf" > "$work/batcher-t.log" 2>&1 \
    || e2e_fail "mcpu-batcher -t refuses docker/mcpu-batcher.conf (batcher-t.log)"
step "   mcpu-batcher -t: docker/mcpu-batcher.conf is ok"

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
    want($s->{$_}, "no service $_") for qw(kafka kafka-init nginx batcher);
    die map { "compose.yaml: $_\n" } @errors if @errors;

    my $nginx = slurp("$dock/nginx.conf");
    my $bconf = slurp("$dock/mcpu-batcher.conf");
    my %df = map { $_ => slurp("$dock/Dockerfile.$_") } qw(nginx batcher);

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
    for my $svc (qw(nginx batcher)) {
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

    # the port
    my ($port) = $nginx =~ /^\s*listen\s+(\d+);/m;
    want(defined $port && (grep { /:\Q$port\E$/ } @{ $s->{nginx}{ports} || [] })
         && $df{nginx} =~ /^EXPOSE \Q$port\E$/m,
         "nginx listens on " . ($port // "?") . ", which compose.yaml or EXPOSE does not publish");

    # Kafka: the broker address, the topics
    my ($bhost, $bport) = $bconf =~ /^brokers\s*=\s*([^:\s]+):(\d+)/m;
    my $k = $s->{$bhost // ""};
    want($k && ($k->{environment}{KAFKA_ADVERTISED_LISTENERS} // "") =~ m{://\Q$bhost:$bport\E(,|$)},
         "mcpu-batcher.conf: brokers " . ($bhost // "?") . ":" . ($bport // "?") . " is not a listener Kafka advertises");
    want(($k->{environment}{KAFKA_PROCESS_ROLES} // "") =~ /controller/, "Kafka is not in KRaft mode");
    my $init = join " ", @{ $s->{"kafka-init"}{command} || [] };
    for my $t ($topic, $seen_topic) {
        want($init =~ /--create [^\n]*--topic \Q$t\E /, "kafka-init does not create $t");
    }
    want($init =~ /--topic \Q$seen_topic\E [^\n]*--config cleanup\.policy=compact/,
         "kafka-init does not create $seen_topic compacted");
    my $d = $s->{batcher}{depends_on} || {};
    want(($d->{kafka}{condition} // "") eq "service_healthy", "batcher: depends_on kafka is not service_healthy");
    want(($d->{"kafka-init"}{condition} // "") eq "service_completed_successfully",
         "batcher: depends_on kafka-init is not service_completed_successfully");
    want(($d->{nginx}{condition} // "") eq "service_started", "batcher: depends_on nginx is not service_started");
    want($s->{kafka}{healthcheck}, "kafka has no healthcheck");

    die map { "docker/: $_\n" } @errors if @errors;
' "$dock" "$topic" "$seen_topic" 2> "$work/compose.log" || e2e_fail "$(cat "$work/compose.log")"
step "   compose.yaml: one ring ($ringdir -> /var/lib/mcpu), topics $topic and $seen_topic, port 8080: consistent"

# --- 5. run them as the containers do ----------------------------------------

step "5. nginx and the batcher with docker/'s configurations, as the containers run them"

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

client=docker-check-$$
code=$(curl -sS -o "$work/post.json" -w '%{http_code}' -X POST "$url/event" \
           -H 'Content-Type: application/json' -H "Client-Id: $client" \
           --data "{\"type\":\"AppOpened\",\"time\":$(date +%s%3N),\"seq\":1}")
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
else
    step "   NOTE: not root: the uid/gid arrangement (www-data) was not exercised"
fi

step "ok"
