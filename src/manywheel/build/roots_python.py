"""CPython interpreters Debian does not ship, built from Debian's own source packages in a root.

Debian has no free-threaded (``--disable-gil``) interpreter and no musl one. Both are built here
from the upstream tarball of a Debian source package (``apt-get source --download-only
python3.13`` in a root with ``deb-src`` lines: the ``.orig`` tarball is CPython's release, so
Debian's packaging patches stay out), configured with ``--prefix=/opt/manywheel/<name>``, and
packed as an *overlay*: a ``tar.zst`` of that prefix, unpacked on top of a fresh copy of its
runtime root (the root it was built in, without the compilers) for each use. A build takes
minutes; it happens once and is cached under :attr:`CacheDirectory.interpreters`.

The musl interpreter is built with Debian's ``musl-gcc`` (see :mod:`manywheel.build.musl_python`)
and runs in a Debian root that has the ``musl`` package: its loader searches only musl's
directories, so nothing of glibc's can be loaded by it.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path, PurePosixPath

from manywheel.build.musl_python import MUSL_BUILD_PACKAGES, musl_preparation
from manywheel.build.roots import (
    ROOT_FORMAT_VERSION,
    RootSpec,
    RootStore,
    pack_root,
)
from manywheel.build.roots_apt import source_download_script
from manywheel.build.roots_cache import CacheDirectory, exclusive_lock, staging_dir
from manywheel.build.roots_errors import RootCommandError
from manywheel.build.roots_run import run_in_root
from manywheel.values import value_class

__all__ = ["BuiltPython", "PythonRecipe", "built_python", "overlay_path"]

log = logging.getLogger(__name__)

PREFIX_BASE = PurePosixPath("/opt/manywheel")
#: What a glibc CPython build needs in the root: the compiler and the headers of the libraries
#: python's own modules use (ssl, ctypes, sqlite3, bz2, lzma, zlib, zstd, uuid).
GLIBC_BUILD_PACKAGES = (
    "gcc",
    "make",
    "libc6-dev",
    "pkg-config",
    "xz-utils",
    "bzip2",
    "zlib1g-dev",
    "libffi-dev",
    "libssl-dev",
    "libbz2-dev",
    "liblzma-dev",
    "libsqlite3-dev",
    "libzstd-dev",
    "uuid-dev",
)
#: Modules every built interpreter must have (pip needs zlib; the rest are the C modules the
#: standard library and test suites use most); a glibc build also has its libraries' modules.
REQUIRED_MODULES = ("zlib", "_struct", "_json", "_socket", "_posixsubprocess", "select", "math")
REQUIRED_GLIBC_MODULES = ("_ssl", "_ctypes", "_sqlite3", "_bz2", "_lzma")
_BUILD_TIMEOUT = 7200.0


@value_class
class PythonRecipe:
    """Which CPython to build: ``version`` (``"3.13"``) from ``suite``'s source package
    ``python<version>``, free-threaded or not, for glibc or musl, for Debian ``arch``."""

    suite: str
    version: str
    free_threaded: bool = False
    libc: str = "glibc"
    arch: str = "amd64"

    def __post_init__(self) -> None:
        if not re.fullmatch(r"3\.\d{1,2}", self.version):
            raise ValueError(f"not a CPython version: {self.version!r}")
        if self.libc not in {"glibc", "musl"}:
            raise ValueError(f"libc must be glibc or musl, not {self.libc!r}")
        if self.free_threaded and tuple(map(int, self.version.split("."))) < (3, 13):
            raise ValueError(f"CPython {self.version} has no free-threaded build (3.13 and later)")

    @property
    def abi_version(self) -> str:
        """``3.13t`` for a free-threaded build, else ``3.13``: its ``python3.13t`` command."""
        return self.version + ("t" if self.free_threaded else "")

    @property
    def name(self) -> str:
        """``cpython-3.13t-trixie-amd64``, ``cpython-3.11-musl-bookworm-amd64``."""
        libc = "-musl" if self.libc == "musl" else ""
        return f"cpython-{self.abi_version}{libc}-{self.suite}-{self.arch}"

    @property
    def prefix(self) -> PurePosixPath:
        return PREFIX_BASE / self.name

    @property
    def build_root(self) -> RootSpec:
        """The root it is built in: the suite with a compiler and ``deb-src`` lines."""
        packages = MUSL_BUILD_PACKAGES if self.libc == "musl" else GLIBC_BUILD_PACKAGES
        return RootSpec(self.suite, self.arch, packages, sources=True)

    @property
    def runtime_root(self) -> RootSpec:
        """The root it runs in: the suite's base root (and musl's loader for a musl build)."""
        return RootSpec(self.suite, self.arch, ("musl",) if self.libc == "musl" else ())


@value_class
class BuiltPython:
    """A built interpreter: ``overlay`` (a packed prefix) unpacked over ``runtime`` gives a root
    in which ``python`` runs."""

    recipe: PythonRecipe
    overlay: Path

    @property
    def runtime(self) -> RootSpec:
        return self.recipe.runtime_root

    @property
    def python(self) -> PurePosixPath:
        return self.recipe.prefix / "bin" / f"python{self.recipe.abi_version}"

    @property
    def pip_wheels(self) -> PurePosixPath:
        """Where the interpreter's own bundled pip wheel is (``ensurepip``'s)."""
        lib = f"python{self.recipe.abi_version}"
        return self.recipe.prefix / "lib" / lib / "ensurepip" / "_bundled"


def _build_script(recipe: PythonRecipe, jobs: int) -> str:
    modules = REQUIRED_MODULES + (REQUIRED_GLIBC_MODULES if recipe.libc == "glibc" else ())
    options = ["--with-ensurepip=no"]
    if recipe.free_threaded:
        options.append("--disable-gil")
    lines = [
        "set -eux",
        "mkdir -p /build && cd /build",
        "apt-get update -q",
    ]
    if recipe.libc == "musl":
        lines += musl_preparation(recipe.arch, jobs)
    lines += [
        source_download_script(f"python{recipe.version}"),
        'mkdir cpython && tar -xf "$source" -C cpython --strip-components=1 && cd cpython',
        f"./configure --prefix={recipe.prefix} {' '.join(options)}",
        f"make -j{jobs}",
        "make install",
        f"{recipe.prefix}/bin/python{recipe.abi_version} -c 'import {', '.join(modules)}'",
    ]
    return "\n".join(lines) + "\n"


def overlay_path(cache: CacheDirectory, recipe: PythonRecipe) -> Path:
    """Where the packed interpreter of ``recipe`` is cached (whether it exists or not)."""
    return cache.interpreters / f"{recipe.name}-v{ROOT_FORMAT_VERSION}.tar.zst"


def built_python(
    store: RootStore, recipe: PythonRecipe, *, jobs: int = 2, log_path: Path | None = None
) -> BuiltPython:
    """The interpreter ``recipe`` describes, built first (minutes) when the cache has none.

    Raises :class:`RootCommandError` with the end of the build's output when it fails (the
    whole output is kept in ``log_path`` when given).
    """
    cache = store.cache
    overlay = overlay_path(cache, recipe)
    if overlay.is_file():
        return BuiltPython(recipe, overlay)
    store.archive(recipe.runtime_root)
    with exclusive_lock(cache, f"interpreter-{recipe.name}"):
        if overlay.is_file():
            return BuiltPython(recipe, overlay)
        started = time.monotonic()
        with staging_dir(cache.interpreters, f"build-{recipe.name}") as staging:
            _build_into(store, recipe, jobs, staging, log_path or staging / "build.log")
            (staging / overlay.name).replace(overlay)
        log.info("built %s in %.0f s", recipe.name, time.monotonic() - started)
    return BuiltPython(recipe, overlay)


def _build_into(
    store: RootStore, recipe: PythonRecipe, jobs: int, staging: Path, log_path: Path
) -> None:
    with store.scratch(recipe.build_root) as root:
        result = run_in_root(
            root,
            ["/bin/sh", "-c", _build_script(recipe, jobs)],
            env={"DEBIAN_FRONTEND": "noninteractive"},
            timeout=_BUILD_TIMEOUT,
            log=log_path,
        )
        if result.returncode != 0:
            raise RootCommandError(
                f"building CPython {recipe.abi_version} ({recipe.libc}) in a {recipe.suite} "
                f"root failed (exit {result.returncode})",
                tail=result.stdout,
                path=str(log_path),
            )
        archive = staging / f"{recipe.name}-v{ROOT_FORMAT_VERSION}.tar.zst"
        pack_root(root, archive, members=(str(recipe.prefix).lstrip("/"),))
