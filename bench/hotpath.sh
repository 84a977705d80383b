#!/usr/bin/env bash
# Counts what the nginx worker does per request on the ingest path against a
# bare `return 202`: allocations (LD_PRELOAD shim) and syscalls (strace -c).
# The module's promise is no malloc and no syscall per event: both columns
# must grow by the same amount per request.  A measurement, not a test.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
port=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0")->sockport')
command -v strace > /dev/null || { echo "hotpath: needs strace (apt-get install strace)" >&2; exit 1; }

cc -O2 -shared -fPIC -o "$work/alloc_count.so" "$top/bench/alloc_count.c" -ldl

cat > "$work/nginx.conf" <<CONF
daemon off; master_process off;
error_log $work/error.log warn; pid $work/nginx.pid;
load_module $top/build/ngx_http_mcpu_module.so;
events { worker_connections 64; }
http {
    access_log off; client_body_temp_path $work/body;
    mcpu_ring $work/ring size=64m lanes=8;
    server {
        listen 127.0.0.1:$port;
        location = /event { mcpu_ingest; }
        location = /bare { return 202 '{"accepted":1}\n'; }
    }
}
CONF

measure() {   # location, requests -> "mallocs syscalls"
    rm -f "$work/ring" "$work/error.log"
    LD_PRELOAD=$work/alloc_count.so nginx -p "$work" -c "$work/nginx.conf" &
    local nginx=$!
    until curl -s -o /dev/null "http://127.0.0.1:$port/bare"; do sleep 0.05; done
    strace -c -f -p "$(cat "$work/nginx.pid")" -o "$work/strace" 2> "$work/strace.err" &
    local st=$!
    until grep -q attached "$work/strace.err" 2> /dev/null; do sleep 0.05; done
    "$top/build/mcpu-load" -u "http://127.0.0.1:$port/$1" -n "$2" -c 1 -o /dev/null > /dev/null
    kill -INT "$st"; wait "$st" 2> /dev/null || true
    kill -QUIT "$nginx"; wait "$nginx" 2> /dev/null || true
    # nginx sends its stderr to the error log, where the shim's line lands
    local a
    a=$(sed -n 's/.*ALLOCS pid [0-9]* malloc \([0-9]*\) calloc \([0-9]*\) realloc \([0-9]*\) posix_memalign \([0-9]*\).*/\1 \2 \3 \4/p' "$work/error.log" | awk '{ print $1 + $2 + $3 + $4 }')
    echo "$a $(awk '/total/ { print $4 }' "$work/strace")"
}

printf '%-8s %12s %12s %12s %12s\n' location "allocs@1000" "allocs@3000" "sys@1000" "sys@3000"
for loc in bare event; do
    read -r a1 s1 <<< "$(measure "$loc" 1000)"
    read -r a3 s3 <<< "$(measure "$loc" 3000)"
    printf '%-8s %12s %12s %12s %12s   per request: %s allocs, %s syscalls\n' "$loc" "$a1" "$a3" "$s1" "$s3" \
        "$(awk -v a="$a1" -v b="$a3" 'BEGIN { printf "%.2f", (b - a) / 2000 }')" \
        "$(awk -v a="$s1" -v b="$s3" 'BEGIN { printf "%.2f", (b - a) / 2000 }')"
done
