#!/usr/bin/env bash
# Build libdemo.so.1 (SONAME libdemo.so.1) with the libdemo.so link, linking zlib.
# With `manywheel build` (as before-all) it uses the target's compiler ($CC, zig for the policy's
# glibc) and installs into $MANYWHEEL_PREFIX/lib, where the build links it and the repair grafts
# it from; run by hand (scripts/demo) it uses gcc and build/libdemo/.
set -euo pipefail
cd "$(dirname "$0")"
cc=${CC:-gcc}
out=${MANYWHEEL_PREFIX:+$MANYWHEEL_PREFIX/lib}
out=${out:-build/libdemo}
mkdir -p "$out"
$cc -O2 -fPIC -shared -Wl,-soname,libdemo.so.1 -o "$out/libdemo.so.1" libdemo/demo.c -lz
ln -sf libdemo.so.1 "$out/libdemo.so"
