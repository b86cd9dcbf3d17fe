"""What building CPython for musl in a Debian root needs beyond a glibc build.

No musl CPython ships in Debian, and Alpine is not reachable here, so the interpreter that
proves a musllinux wheel imports is built with Debian's ``musl-gcc`` (``musl-tools``):

- zlib (pip cannot unpack a wheel without it) is built from Debian's zlib source as a static
  musl library, so the interpreter needs nothing but musl's ``libc.so`` at run time;
- ``musl-gcc`` is wrapped so ``-print-multiarch`` answers ``<arch>-linux-musl``: CPython's
  configure compares that answer with the triplet it derives from the C library and stops when
  they differ, and its setup.py adds ``/usr/include/<answer>`` to every module's search path
  (gcc says ``x86_64-linux-gnu``: glibc's headers would break every module);
- the kernel's headers (``linux/``, ``asm/``), which ``musl-gcc`` leaves out of its search path,
  are offered from a directory of links, as Alpine's linux-headers would.

Modules whose libraries have no musl build here (ssl, ctypes, sqlite3, bz2, lzma) are left out;
pip installs from files and a local index without them.
"""

from __future__ import annotations

from manywheel.build.qemu import ARCHITECTURES
from manywheel.build.roots_apt import source_download_script

__all__ = ["MUSL_BUILD_PACKAGES", "MUSL_DEPS", "musl_loader", "musl_preparation"]

MUSL_DEPS = "/opt/manywheel/musl-deps"
MUSL_BUILD_PACKAGES = (
    "musl-tools",
    "musl-dev",
    "gcc",
    "make",
    "linux-libc-dev",
    "libc6-dev",
    "xz-utils",
    "bzip2",
)


def _machine(arch: str) -> str:
    machine = ARCHITECTURES[arch].machine
    return {"i686": "i386", "armv7l": "arm", "ppc64le": "powerpc64le"}.get(machine, machine)


def musl_loader(arch: str) -> str:
    """musl's dynamic loader for Debian architecture ``arch`` (``/lib/ld-musl-x86_64.so.1``)."""
    machine = ARCHITECTURES[arch].machine
    name = {"i686": "i386", "armv7l": "armhf", "ppc64le": "powerpc64le"}.get(machine, machine)
    return f"/lib/ld-musl-{name}.so.1"


def musl_preparation(arch: str, jobs: int) -> list[str]:
    """Shell lines, run in ``/build`` of a root with :data:`MUSL_BUILD_PACKAGES`, that build
    static zlib for musl and export ``CC``/``CPPFLAGS``/``LDFLAGS`` for CPython's configure."""
    machine = _machine(arch)
    gnu = f"{machine}-linux-gnu"
    return [
        "mkdir -p /build/musl-bin /build/kernel-headers",
        "cat > /build/musl-bin/musl-cc <<'EOF'",
        "#!/bin/sh",
        'case "$1" in -print-multiarch|--print-multiarch)',
        f"    echo {machine}-linux-musl; exit 0;;",
        "esac",
        'exec musl-gcc "$@"',
        "EOF",
        "chmod +x /build/musl-bin/musl-cc",
        "ln -s /usr/include/linux /usr/include/asm-generic /build/kernel-headers/",
        f"ln -s /usr/include/{gnu}/asm /build/kernel-headers/asm",
        "export CC=/build/musl-bin/musl-cc",
        source_download_script("zlib"),
        'mkdir zlib && tar -xf "$source" -C zlib --strip-components=1',
        # -fPIC: the static library is linked into the zlib extension module, a shared object.
        f'(cd zlib && CFLAGS="-O2 -fPIC" ./configure --static --prefix={MUSL_DEPS}'
        f" && make -j{jobs} && make install)",
        # -I, not -isystem: CPython's setup.py passes on only the -I options of CPPFLAGS.
        f'export CPPFLAGS="-I{MUSL_DEPS}/include -I/build/kernel-headers"',
        f'export LDFLAGS="-L{MUSL_DEPS}/lib"',
        f"export PKG_CONFIG_LIBDIR={MUSL_DEPS}/lib/pkgconfig",
    ]
