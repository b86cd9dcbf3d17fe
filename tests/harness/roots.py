"""Minimal Debian roots for tests: manywheel's own :class:`~manywheel.build.roots.RootStore`,
configured for this machine (its architecture, the mirror its apt sources name).

A base root is ``debootstrap --variant=minbase --include=python3,python3-venv`` plus the host's
CA bundle, with apt lists, docs, man pages and locales removed. It has python and python's own
dependencies (libffi, libssl, ...) and nothing else: the clean system a repaired wheel must work
on. Roots are built once, cached packed, and unpacked per session.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from pathlib import Path

from manywheel.build.qemu import debian_arch
from manywheel.build.roots import (
    FALLBACK_MIRROR,
    ROOT_FORMAT_VERSION,
    SUITES,
    RootSpec,
    RootStore,
    Suite,
    host_debian_mirror,
    scratch_base,
    unpack_root,
)
from tests.harness.cache import HarnessCache

__all__ = [
    "FALLBACK_MIRROR",
    "RELEASED_SUITES",
    "ROOT_FORMAT_VERSION",
    "SUITES",
    "RootSpec",
    "Suite",
    "debian_root",
    "host_debian_mirror",
    "root_archive",
    "root_store",
    "scratch_base",
    "unpack_root",
]

#: The suites whose glibc and python are fixed facts (sid moves).
RELEASED_SUITES: Mapping[str, Suite] = {n: s for n, s in SUITES.items() if s.glibc is not None}


def root_store(cache: HarnessCache, mirror: str | None = None) -> RootStore:
    """Roots for this machine: its architecture, and the Debian mirror its apt sources name."""
    return RootStore(
        cache,
        native_arch=debian_arch(platform.machine()),
        mirror=mirror or host_debian_mirror() or FALLBACK_MIRROR,
    )


def root_archive(suite: str | RootSpec, *, cache: HarnessCache, mirror: str | None = None) -> Path:
    """The packed root for ``suite``, building it first when the cache has none."""
    return root_store(cache, mirror).archive(suite)


def debian_root(
    suite: str | RootSpec,
    dest: Path,
    *,
    cache: HarnessCache | None = None,
    mirror: str | None = None,
) -> Path:
    """A fresh minimal ``suite`` root at ``dest`` (built and cached on first use, else unpacked).

    Raises :class:`~manywheel.build.UnavailableError` when the root is not cached and this
    machine cannot build it.
    """
    return unpack_root(
        root_archive(suite, cache=cache or HarnessCache.default(), mirror=mirror), dest
    )
