#!/usr/bin/env bash
# Installs what mcpu needs on Debian 12, and nothing when it is all there,
# so `make run` and `make test` work on a fresh machine and stay quick on a
# prepared one.
set -euo pipefail

packages=(
    build-essential pkg-config curl procps perl
    nginx nginx-dev libssl-dev libpcre2-dev zlib1g-dev   # the module build
    libjansson-dev libck-dev                              # the module
    libjwt-dev libssl-dev                                 # JWT: the module, mcpu-token
    librdkafka-dev kcat                                   # batcher, local Kafka, tests
    liblmdb-dev                                           # mcpu-dedup's state
    clickhouse-server libcurl4-openssl-dev                # the store, mcpu-sink, mcpu-report, mcpu-sim
    chromium                                              # the report's browser test
    wrk strace                                            # bench/
    clang libclang-rt-14-dev                              # make fuzz, make asan-test
    libtest-base-perl                                     # t/ runner (the rest is core Perl)
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$p")
done

[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo

export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
