"""pytest fixtures over the harness, with the skip-or-fail policy applied.

Register once for the whole suite in ``tests/conftest.py``::

    pytest_plugins = ["tests.harness.fixtures"]

Then a test asks for ``bookworm_root``, ``bullseye_root`` or ``trixie_root`` (a session-wide
unpacked root), ``bookworm_arm64_root`` (the same under qemu), ``root_store`` (manywheel's
:class:`~manywheel.build.roots.RootStore` on the harness cache), ``free_threaded_python`` and
``musl_python`` (CPythons built from Debian's sources, cached) or ``sdist_wheel`` (a builder:
``sdist_wheel("pyyaml", python="3.11") -> Path``).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from manywheel.build.roots import RootSpec, RootStore
from manywheel.build.roots_python import BuiltPython, PythonRecipe, built_python
from tests.harness.availability import Unavailable, namespace_problems, require, skip_or_fail
from tests.harness.cache import HarnessCache
from tests.harness.roots import debian_root, scratch_base
from tests.harness.roots import root_store as root_store_for
from tests.harness.sdists import build_sdist_wheel

__all__ = [
    "FREE_THREADED",
    "MUSL",
    "SdistWheelBuilder",
    "bookworm_arm64_root",
    "bookworm_root",
    "bullseye_root",
    "free_threaded_python",
    "harness_cache",
    "musl_python",
    "root_store",
    "sdist_wheel",
    "session_root",
    "trixie_root",
]

#: The interpreters the tests build: Debian ships no free-threaded or musl CPython. trixie's
#: python3.13 source is on the mirror (sid's 3.14 source is not, here).
FREE_THREADED = PythonRecipe("trixie", "3.13", free_threaded=True)
MUSL = PythonRecipe("bookworm", "3.11", libc="musl")

SdistWheelBuilder = Callable[..., Path]


@pytest.fixture(scope="session")
def harness_cache() -> HarnessCache:
    return HarnessCache.default()


def session_root(suite: str | RootSpec, cache: HarnessCache) -> Iterator[Path]:
    """Yield a fresh unpacked ``suite`` root, removed afterwards; skip or fail when impossible."""
    require(namespace_problems())
    name = suite if isinstance(suite, str) else suite.name
    workdir = Path(tempfile.mkdtemp(prefix=f"manywheel-{name}-", dir=scratch_base()))
    try:
        try:
            root = debian_root(suite, workdir / "root", cache=cache)
        except Unavailable as e:
            skip_or_fail(str(e))
        yield root
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def bookworm_root(harness_cache: HarnessCache) -> Iterator[Path]:
    """A minimal Debian 12 root (glibc 2.36, python 3.11), shared by the session: don't break it."""
    yield from session_root("bookworm", harness_cache)


@pytest.fixture(scope="session")
def bullseye_root(harness_cache: HarnessCache) -> Iterator[Path]:
    """A minimal Debian 11 root (glibc 2.31, python 3.9), shared by the session: don't break it."""
    yield from session_root("bullseye", harness_cache)


@pytest.fixture(scope="session")
def trixie_root(harness_cache: HarnessCache) -> Iterator[Path]:
    """A minimal Debian 13 root (glibc 2.41, python 3.13), shared by the session: don't break it."""
    yield from session_root("trixie", harness_cache)


@pytest.fixture(scope="session")
def bookworm_arm64_root(harness_cache: HarnessCache) -> Iterator[Path]:
    """A minimal arm64 Debian 12 root, run under qemu-user: don't break it."""
    yield from session_root(RootSpec("bookworm", "arm64"), harness_cache)


@pytest.fixture(scope="session")
def root_store(harness_cache: HarnessCache) -> RootStore:
    """manywheel's roots on the harness cache, for this machine; skips (or fails) when roots
    cannot run here."""
    require(namespace_problems())
    return root_store_for(harness_cache)


def _built(store: RootStore, recipe: PythonRecipe) -> BuiltPython:
    try:
        return built_python(store, recipe)
    except Unavailable as e:
        skip_or_fail(str(e))


@pytest.fixture(scope="session")
def free_threaded_python(root_store: RootStore) -> BuiltPython:
    """CPython 3.13t (``--disable-gil``) built from trixie's source; minutes the first time."""
    return _built(root_store, FREE_THREADED)


@pytest.fixture(scope="session")
def musl_python(root_store: RootStore) -> BuiltPython:
    """CPython 3.11 built with musl-gcc from bookworm's source; minutes the first time."""
    return _built(root_store, MUSL)


@pytest.fixture(scope="session")
def sdist_wheel(harness_cache: HarnessCache) -> SdistWheelBuilder:
    """``sdist_wheel(name, version=None, *, python)``: a cached wheel built from an sdist."""

    def build(name: str, version: str | None = None, *, python: str) -> Path:
        try:
            return build_sdist_wheel(name, version, python=python, cache=harness_cache)
        except Unavailable as e:
            skip_or_fail(str(e))

    return build
