#!/usr/bin/env bash
# Builds build/ngx_http_mcpu_module.so against an nginx source tree: by
# default Debian's nginx-dev (/usr/share/nginx/src: headers, auto/, configure
# and conf_flags, the exact flags Debian's nginx was built with), so the
# module loads into the installed nginx; NGINX_SRC=DIR for any other tree.
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

# configure again only when the module's file list or the tree changed
if [ ! -f "$work/objs/Makefile" ] || [ "$top/config" -nt "$work/objs/Makefile" ] \
   || [ "$(cat "$work/.mcpu-src" 2>/dev/null)" != "$src" ]; then
    rm -rf "$work"
    mkdir -p "$work"
    cp -a "$src/." "$work/"
    (cd "$work" && $configure "${flags[@]}" --with-cc-opt="$cc_opt" \
                        --add-dynamic-module="$top" > "$build/configure.log" 2>&1) || {
        tail -n 20 "$build/configure.log" >&2
        exit 1
    }
    echo "$src" > "$work/.mcpu-src"
fi

make -s -C "$work" -f objs/Makefile modules
cp "$work/objs/ngx_http_mcpu_module.so" "$build/ngx_http_mcpu_module.so"
