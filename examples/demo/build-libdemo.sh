#!/usr/bin/env bash
# Build libdemo.so.1 (SONAME libdemo.so.1) into build/libdemo/, with the libdemo.so link.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p build/libdemo
gcc -O2 -fPIC -shared -Wl,-soname,libdemo.so.1 -o build/libdemo/libdemo.so.1 libdemo/demo.c -lz
ln -sf libdemo.so.1 build/libdemo/libdemo.so
