#!/usr/bin/env bash
# Requests per second of single-event POSTs with wrk at 64 connections, one
# nginx worker: no authentication, HS256, RS256 through the token cache,
# RS256 with the cache off; as ratios to no authentication.  Each scenario
# gets a fresh nginx and ring (nothing drains it: this measures nginx, and
# the ring is large enough for the run).  A measurement, not a test.
#   bench/jwt.sh [SECONDS] [ROUNDS]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/build
secs=${1:-5}
rounds=${2:-3}
work=$(mktemp -d)
nginx_pid=
trap '[ -n "$nginx_pid" ] && kill -QUIT "$nginx_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
command -v wrk > /dev/null || { echo "jwt bench: needs wrk (scripts/install-deps.sh)" >&2; exit 1; }

port=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0")->sockport')
"$bin/mcpu-token" --gen-key HS256 --out "$work/hs"
"$bin/mcpu-token" --gen-key RS256 --out "$work/rsa"
hs_token=$("$bin/mcpu-token" --key "$work/hs.secret" --alg HS256 --sub bench-client --exp 86400)
rs_token=$("$bin/mcpu-token" --key "$work/rsa.key" --alg RS256 --sub bench-client --exp 86400)

cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
-- the current time: events older than mcpu_event_max_age are refused
wrk.body = '{"type":"CpuMeasurement","time":' .. os.time() * 1000 .. ',"usage":{"0":12.5,"1":80}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Client-Id"] = "bench-client"
local token = os.getenv("TOKEN")
if token and token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
end
LUA

start_nginx() {   # jwt directives, cache setting
    rm -f "$work/ring"
    cat > "$work/nginx.conf" <<CONF
daemon off; master_process off;
error_log $work/error.log warn; pid $work/nginx.pid;
load_module $bin/ngx_http_mcpu_module.so;
events { worker_connections 1024; }
http {
    access_log off; client_body_temp_path $work/body;
    mcpu_ring $work/ring size=1g lanes=2;
    mcpu_jwt_cache $2;
    server {
        listen 127.0.0.1:$port;
        location = /event { mcpu_ingest; $1 }
    }
}
CONF
    taskset -c 0 nginx -p "$work" -c "$work/nginx.conf" &
    nginx_pid=$!
    until curl -s -o /dev/null "http://127.0.0.1:$port/"; do
        kill -0 "$nginx_pid" 2> /dev/null || { echo "jwt bench: nginx did not start" >&2; exit 1; }
        sleep 0.05
    done
}

stop_nginx() {
    kill -QUIT "$nginx_pid"; wait "$nginx_pid" 2>/dev/null || true; nginx_pid=
}

run() {   # name, token, jwt directives, cache -> requests/s
    start_nginx "$3" "$4"
    local out
    out=$(TOKEN=$2 taskset -c 1 wrk -t1 -c64 -d"${secs}s" -s "$work/post.lua" "http://127.0.0.1:$port/event")
    stop_nginx
    if echo "$out" | grep -q "Non-2xx"; then
        echo "bench $1: non-2xx answers: $out" >&2
        exit 1
    fi
    echo "$out" | awk '/Requests\/sec/ { printf "%d", $2 }'
}

declare -A sum
names=(none hs256 rs256_cache rs256_nocache)
for r in $(seq "$rounds"); do
    sum[none]+=" $(run none '' '' 1024)"
    sum[hs256]+=" $(run hs256 "$hs_token" "mcpu_jwt_key $work/hs.secret alg=HS256;" 1024)"
    sum[rs256_cache]+=" $(run rs256_cache "$rs_token" "mcpu_jwt_key $work/rsa.pub alg=RS256;" 1024)"
    sum[rs256_nocache]+=" $(run rs256_nocache "$rs_token" "mcpu_jwt_key $work/rsa.pub alg=RS256;" off)"
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
base=$(echo "${sum[none]}" | median)
printf '%-16s %12s %8s   %s\n' scenario "req/s" ratio "runs"
for n in "${names[@]}"; do
    m=$(echo "${sum[$n]}" | median)
    printf '%-16s %12s %8s   %s\n' "$n" "$m" "$(awk -v a="$m" -v b="$base" 'BEGIN { printf "%.2f", a / b }')" "${sum[$n]# }"
done
echo "(wrk -t1 -c64 -d${secs}s pinned to CPU 1, nginx 1 worker pinned to CPU 0; medians of $rounds rounds)"
