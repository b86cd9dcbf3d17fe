"""zig as the C and C++ toolchain: the ``ziglang`` package from PyPI, cached and unpacked once,
and small wrapper scripts that make ``zig cc`` look like the ``cc``/``c++``/``ar`` every build
system expects, for one target (``x86_64-linux-gnu.2.17``, ``aarch64-linux-musl``).

The wrappers pass ``-target`` and then, after the build's own arguments, the prefix
(``-I<prefix>/include -L<prefix>/lib``, so native dependencies built by before-all are found)
and, for a glibc target of the architecture the build runs on, the system's headers and
libraries *after* zig's own: ``-idirafter /usr/include`` (zig's glibc headers for the target
version win; only headers zig lacks, such as ``zlib.h``, come from the system) and ``-L`` of the
system's library directories (so ``-lz`` links the system's libz; ``-lc``/``-lm``/``-lpthread``
stay zig's stubs of the target glibc, never the system's). A library linked from the system is
either whitelisted (libz) or grafted by the repair, whose closure check refuses it if it needs a
newer glibc than the target's. Musl targets and other architectures get no system directories:
their libraries must come from the prefix (or the root they are built in).

Meson gets a native file and CMake a toolchain file naming the same wrappers; the runner hands
them over (``CMAKE_TOOLCHAIN_FILE``; meson-python's ``setup-args``).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from manywheel.build.identifiers import gnu_triple
from manywheel.build.roots_cache import CacheDirectory
from manywheel.build.tools import fetch_wheel_tool
from manywheel.policy import Libc
from manywheel.values import value_class

__all__ = [
    "ZIG_VERSION",
    "ZigToolchain",
    "ZigWrappers",
    "fetch_zig",
    "write_wrappers",
    "zig_target",
]

#: The ``ziglang`` release fetched from PyPI (checked: glibc 2.17 targets, musl, aarch64).
ZIG_VERSION = "0.17.1"

#: zig's name for each architecture's CPU family.
_ZIG_ARCH = {
    "x86_64": "x86_64",
    "i686": "x86",
    "aarch64": "aarch64",
    "ppc64le": "powerpc64le",
    "s390x": "s390x",
    "armv7l": "arm",
    "riscv64": "riscv64",
}


def zig_target(arch: str, libc: Libc, glibc: tuple[int, int] | None = None) -> str:
    """zig's ``-target``: ``x86_64-linux-gnu.2.17``, ``arm-linux-gnueabihf.2.17``,
    ``aarch64-linux-musl``. The glibc version is the policy's; musl has none to give."""
    machine = _ZIG_ARCH[arch]
    if libc is Libc.MUSL:
        return f"{machine}-linux-{'musleabihf' if arch == 'armv7l' else 'musl'}"
    abi = "gnueabihf" if arch == "armv7l" else "gnu"
    if glibc is None:
        return f"{machine}-linux-{abi}"
    return f"{machine}-linux-{abi}.{glibc[0]}.{glibc[1]}"


@value_class
class ZigToolchain:
    """An unpacked zig: ``home`` holds the ``zig`` executable and its ``lib`` directory."""

    home: Path
    version: str

    @property
    def executable(self) -> Path:
        return self.home / "zig"


def fetch_zig(
    cache: CacheDirectory,
    *,
    pip: Sequence[str],
    environ: Mapping[str, str],
    log: BinaryIO,
    version: str = ZIG_VERSION,
) -> ZigToolchain:
    """The cached zig ``version``, fetched with ``pip download ziglang==version`` (``pip`` is
    the command to run pip with) and unpacked the first time, under a lock."""
    home = fetch_wheel_tool(
        cache,
        project="ziglang",
        version=version,
        directory="ziglang",
        executables=["ziglang/zig"],
        pip=pip,
        environ=environ,
        log=log,
    )
    return ZigToolchain(home / "ziglang", version)


@value_class
class ZigWrappers:
    """The files :func:`write_wrappers` wrote, as inside paths, and the variables naming them."""

    bin: PurePosixPath
    meson_native_file: PurePosixPath
    cmake_toolchain_file: PurePosixPath
    variables: Mapping[str, str]


def _system_flags(arch: str) -> list[str]:
    """The system's headers after zig's, and its library directories (see the module doc)."""
    from manywheel.build.roots_session import multiarch  # (it imports the audit: not at start)

    directory = multiarch(arch)
    includes = ["/usr/local/include", f"/usr/include/{directory}", "/usr/include"]
    libs = ["/usr/local/lib", f"/usr/lib/{directory}", f"/lib/{directory}", "/usr/lib"]
    flags: list[str] = []
    for directory in includes:
        flags += ["-idirafter", directory]
    flags += [f"-L{directory}" for directory in libs]
    return flags


def _script(lines: Sequence[str]) -> str:
    return "#!/bin/sh\n" + "\n".join(lines) + "\n"


def _write_executable(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)


def write_wrappers(
    directory: Path,
    *,
    inside: PurePosixPath,
    zig: PurePosixPath,
    zig_cache: PurePosixPath,
    target: str,
    arch: str,
    libc: Libc,
    prefix: PurePosixPath,
    system_libraries: bool,
) -> ZigWrappers:
    """Write ``cc``, ``c++``, ``ar``, ``ranlib``, ``objcopy``, a meson native file and a CMake
    toolchain file into the host directory ``directory``, which commands see as ``inside``;
    every path written into them (``zig``, its cache, the prefix) is an inside path.
    ``system_libraries`` adds the system's headers and libraries after zig's (glibc targets
    of the architecture the build runs on)."""
    bin_dir = directory / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    inside_bin = inside / "bin"
    cache_lines = [
        f"ZIG_GLOBAL_CACHE_DIR={shlex.quote(str(zig_cache))}",
        f"ZIG_LOCAL_CACHE_DIR={shlex.quote(str(zig_cache))}",
        "export ZIG_GLOBAL_CACHE_DIR ZIG_LOCAL_CACHE_DIR",
    ]
    system = system_libraries and libc is Libc.GLIBC
    after = ["-Wno-unused-command-line-argument", f"-I{prefix}/include", f"-L{prefix}/lib"]
    if system:
        after += _system_flags(arch)
    tail = " ".join(shlex.quote(flag) for flag in after)
    z = shlex.quote(str(zig))
    for name, mode in (("cc", "cc"), ("c++", "c++")):
        line = f'exec {z} {mode} -target {shlex.quote(target)} "$@" {tail}'
        _write_executable(bin_dir / name, _script([*cache_lines, line]))
    for tool in ("ar", "ranlib", "objcopy"):
        _write_executable(bin_dir / tool, _script([*cache_lines, f'exec {z} {tool} "$@"']))
    cc, cxx, ar = inside_bin / "cc", inside_bin / "c++", inside_bin / "ar"
    native = directory / "meson-native.ini"
    # pkg-config: the prefix's (PKG_CONFIG_PATH) and, with the system's libraries, the
    # system's; without them (musl) only the prefix's: the system's .pc files name glibc builds.
    properties = (
        "" if system else f"\n[properties]\npkg_config_libdir = ['{prefix}/lib/pkgconfig']\n"
    )
    native.write_text(
        f"[binaries]\nc = '{cc}'\ncpp = '{cxx}'\nar = '{ar}'\n{properties}", encoding="utf-8"
    )
    toolchain = directory / "toolchain.cmake"
    toolchain.write_text(
        f'set(CMAKE_C_COMPILER "{cc}")\n'
        f'set(CMAKE_CXX_COMPILER "{cxx}")\n'
        f'set(CMAKE_AR "{ar}" CACHE FILEPATH "zig ar")\n'
        f'set(CMAKE_RANLIB "{inside_bin / "ranlib"}" CACHE FILEPATH "zig ranlib")\n'
        f'list(APPEND CMAKE_PREFIX_PATH "{prefix}")\n',
        encoding="utf-8",
    )
    variables = {
        "CC": str(cc),
        "CXX": str(cxx),
        "AR": str(ar),
        "RANLIB": str(inside_bin / "ranlib"),
        "OBJCOPY": str(inside_bin / "objcopy"),
        "CPP": f"{cc} -E",
        "LDSHARED": f"{cc} -shared",
        "LDCXXSHARED": f"{cxx} -shared",
        "CMAKE_TOOLCHAIN_FILE": str(inside / "toolchain.cmake"),
        "MANYWHEEL_HOST": gnu_triple(arch, libc),
        "MANYWHEEL_ZIG_TARGET": target,
        "ZIG_GLOBAL_CACHE_DIR": str(zig_cache),
        "ZIG_LOCAL_CACHE_DIR": str(zig_cache),
    }
    return ZigWrappers(
        inside_bin, inside / "meson-native.ini", inside / "toolchain.cmake", variables
    )
