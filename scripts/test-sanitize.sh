#!/usr/bin/env bash
# Runs the C unit tests and the Test::Nginx suite once more under
# AddressSanitizer and UndefinedBehaviorSanitizer, from what `make asan`
# built with clang into $BUILD/asan (build/asan by default):
#
# - the unit tests, with leak detection on;
# - t/ with the module built with the sanitizers, loaded into Debian's
#   nginx, which is not instrumented: $BUILD/asan/nginx-asan runs nginx
#   with clang's ASan runtime (UBSan's included) preloaded, as the runtime
#   must be the first library.  Leak detection is off there: nginx leaves
#   its memory to exit.
#
# Every report goes to a file in $BUILD/asan/reports (log_path), from any
# process: a test binary, a forked child, nginx's master or a worker.  Any
# report fails the run and is printed, even when the tests passed (a
# report at exit, or from a child that nobody waits for).
#
# Limits: ASan sees the module's stack and globals and what is malloc'ed,
# but nginx's pools, the event arena and the ring are each one block, so an
# overrun that stays inside one is not seen.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

san=$top/${BUILD:-build}/asan
reports=$san/reports
cc=${SAN_CC:-clang}

runtime=$($cc -print-file-name="libclang_rt.asan-$(uname -m).so")
if [ ! -e "$runtime" ]; then
    echo "test-sanitize: no ASan runtime for $cc (apt-get install libclang-rt-14-dev)" >&2
    exit 1
fi
if [ ! -f "$san/ngx_http_mcpu_module.so" ] || ! ls "$san"/tests/test_* >/dev/null 2>&1; then
    echo "test-sanitize: nothing built in $san: run make asan first" >&2
    exit 1
fi

# the unit tests' scratch directories go to $san/tmp: one that a test
# stopped by a report leaves is removed by the next run
tmp=$san/tmp
rm -rf "$reports" "$tmp"
mkdir -p "$reports" "$tmp"

# ASan and UBSan share one runtime and so one log_path: report.<pid>.
# abort_on_error: a process with a report dies at once, and a worker's
# death shows in error.log (exited on signal 6).
log=log_path=$reports/report
common=abort_on_error=1:detect_stack_use_after_return=1:$log
ubsan=print_stacktrace=1:halt_on_error=1:abort_on_error=1:$log

status=0

# allocator_may_return_null: malloc returns NULL when it cannot allocate,
# as without ASan (test_event's out-of-memory test runs under RLIMIT_AS)
echo "# unit tests (ASan+UBSan, leak detection on)"
for t in "$san"/tests/test_*; do
    name=$(basename "$t")
    out=$san/$name.out
    if ASAN_OPTIONS=$common:detect_leaks=1:allocator_may_return_null=1 \
       UBSAN_OPTIONS=$ubsan TMPDIR=$tmp "$t" > "$out" 2>&1; then
        echo "ok $name: $(tail -n 1 "$out")"
    else
        echo "FAIL $name (exit status $?):"
        cat "$out"
        status=1
    fi
done

echo "# t/ (the module with ASan+UBSan, in nginx with the ASan runtime preloaded)"
nginx=${TEST_NGINX_BINARY:-$(command -v nginx || echo /usr/sbin/nginx)}
cat > "$san/nginx-asan" <<EOF
#!/bin/sh
# nginx with the ASan runtime preloaded, for the module built with ASan
LD_PRELOAD='$runtime'\${LD_PRELOAD:+:\$LD_PRELOAD}
export LD_PRELOAD
exec '$nginx' "\$@"
EOF
chmod +x "$san/nginx-asan"

TEST_NGINX_BINARY=$san/nginx-asan \
TEST_NGINX_MCPU_MODULE=$san/ngx_http_mcpu_module.so \
TEST_NGINX_RANDOMIZE=1 \
ASAN_OPTIONS=$common:detect_leaks=0 \
UBSAN_OPTIONS=$ubsan \
    prove -I t/lib -j2 t/ || status=1

# each distinct report once in full (without ASan's shadow map), then how
# many processes reported what
found=0
shown=0
declare -A count=()
for r in "$reports"/*; do
    [ -e "$r" ] || continue
    found=$((found + 1))
    sum=$(grep -m 1 '^SUMMARY:' "$r" || head -n 1 "$r")
    sum=${sum:-"(an empty report)"}
    if [ -z "${count[$sum]:-}" ]; then
        count[$sum]=0
        if [ $shown -lt 5 ]; then
            shown=$((shown + 1))
            echo "# sanitizer report $r:"
            sed '/^Shadow bytes around/,$d' "$r" | head -n 80
        fi
    fi
    count[$sum]=$((count[$sum] + 1))
done
if [ $found -gt 0 ]; then
    for sum in "${!count[@]}"; do
        echo "# ${count[$sum]} x $sum"
    done
    echo "test-sanitize: $found sanitizer report(s) in $reports" >&2
    status=1
fi

exit $status
