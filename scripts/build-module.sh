#!/usr/bin/env bash
# Builds build/ngx_http_mcpu_module.so against an nginx source tree: by
# default Debian's nginx-dev (/usr/share/nginx/src: headers, auto/, configure
# and conf_flags, the exact flags Debian's nginx was built with), so the
# module loads into the installed nginx; NGINX_SRC=DIR for any other tree.
# BUILD=DIR (relative to the top) puts it in DIR instead; CC picks the
# compiler, MCPU_MODULE_CFLAGS and MCPU_MODULE_LDFLAGS add compiler and
# linker flags (make asan builds an ASan+UBSan module into build/asan so).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
src=${NGINX_SRC:-/usr/share/nginx/src}
build=$top/${BUILD:-build}
work=$build/nginx

# a release tarball has ./configure, a clone of the repository auto/configure
configure=./configure
[ -x "$src/configure" ] || configure=./auto/configure
if [ ! -x "$src/$configure" ]; then
    echo "build-module: no nginx source tree at $src (install nginx-dev or set NGINX_SRC)" >&2
    exit 1
fi

flags=(--with-compat)
if [ -f "$src/conf_flags" ]; then
    # shellcheck disable=SC1091
    . "$src/conf_flags"
    flags=("${NGX_CONF_FLAGS[@]}")
fi

# on top of nginx's own "-W -Wall -Wpointer-arith -Wno-unused-parameter
# -Werror" (handlers take parameters they do not use by design)
cc_opt="-O2 -g -Wall -Wextra -Werror"
extra_cflags=${MCPU_MODULE_CFLAGS:-}
extra_ldflags=${MCPU_MODULE_LDFLAGS:-}
[ -z "$extra_cflags" ] || cc_opt="$cc_opt $extra_cflags"
ld_opt=()
[ -z "$extra_ldflags" ] || ld_opt=(--with-ld-opt="$extra_ldflags")
# the compiler (nginx's configure takes CC) and extra flags a tree was
# configured with: "" when none is set, as before
flags_stamp="cc=${CC:-} cflags=$extra_cflags ldflags=$extra_ldflags"
[ -z "${CC:-}$extra_cflags$extra_ldflags" ] && flags_stamp=

# configure again only when the module's file list, the tree or the flags changed
if [ ! -f "$work/objs/Makefile" ] || [ "$top/config" -nt "$work/objs/Makefile" ] \
   || [ "$(cat "$work/.mcpu-src" 2>/dev/null)" != "$src" ] \
   || [ "$(cat "$work/.mcpu-flags" 2>/dev/null)" != "$flags_stamp" ]; then
    rm -rf "$work"
    mkdir -p "$work"
    cp -a "$src/." "$work/"
    # configure runs some of its test programs: with sanitizer flags they
    # are instrumented too, and a leak report must not fail a feature test
    (cd "$work" && ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
                   $configure "${flags[@]}" --with-cc-opt="$cc_opt" "${ld_opt[@]}" \
                        --add-dynamic-module="$top" > "$build/configure.log" 2>&1) || {
        tail -n 20 "$build/configure.log" >&2
        exit 1
    }
    echo "$src" > "$work/.mcpu-src"
    printf '%s\n' "$flags_stamp" > "$work/.mcpu-flags"
fi

make -s -C "$work" -f objs/Makefile modules
cp "$work/objs/ngx_http_mcpu_module.so" "$build/ngx_http_mcpu_module.so"
