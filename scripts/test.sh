#!/usr/bin/env bash
# Runs every test suite: C unit tests, the Test::Nginx suite, end-to-end.
# Ends with one "N passed, N failed" line counting suites.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

export TEST_NGINX_BINARY=${TEST_NGINX_BINARY:-$(command -v nginx || echo /usr/sbin/nginx)}
export TEST_NGINX_MCPU_MODULE=$top/build/ngx_http_mcpu_module.so
export TEST_NGINX_RANDOMIZE=1

passed=0
failed=0
failures=()

suite() {
    local name=$1; shift
    local start=$SECONDS
    echo "=== $name"
    if "$@"; then
        passed=$((passed + 1))
        echo "=== $name: ok ($((SECONDS - start)) s)"
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "=== $name: FAILED ($((SECONDS - start)) s)"
    fi
}

for t in build/tests/test_*; do
    suite "unit $(basename "$t")" "$t"
done

suite "README documents every option of every program" scripts/readme-options.sh --check

suite "Test::Nginx t/" prove -I t/lib -j2 t/

suite "sanitizers: unit tests and t/ with ASan+UBSan" make -s asan-test

for t in tests/e2e/test_*.sh; do
    suite "e2e $(basename "$t" .sh)" bash "$t"
done

suite "docker/ files parse and match the make build" bash docker/check.sh

[ $failed -eq 0 ] || printf 'failed: %s\n' "${failures[@]}"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
