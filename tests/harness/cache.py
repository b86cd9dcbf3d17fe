"""Where the harness keeps what it builds: manywheel's own cache directory
(:class:`manywheel.build.roots_cache.CacheDirectory`) plus the harness's entries.

Everything slow (Debian roots, wheels built from sdists, downloaded .debs) lives under one cache
directory, by default ``~/.cache/manywheel``. Entries are published atomically under a lock (see
the production module); the harness adds downloaded wheels and wheels built from sdists.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from manywheel.build.roots_cache import CacheDirectory, exclusive_lock, staging_dir

__all__ = ["HarnessCache", "exclusive_lock", "staging_dir"]


@dataclass(frozen=True, slots=True)
class HarnessCache(CacheDirectory):
    """The cache directory, with the harness's entries; pass one explicitly, or use
    :meth:`default`."""

    @classmethod
    def default(
        cls, environ: Mapping[str, str] | None = None, home: Path | None = None
    ) -> HarnessCache:
        """``$XDG_CACHE_HOME/manywheel``, else ``~/.cache/manywheel``."""
        base = CacheDirectory.default(
            os.environ if environ is None else environ, Path.home() if home is None else home
        )
        return cls(base.root)

    @property
    def wheels(self) -> Path:
        """Real wheels downloaded from the package index, pinned by version."""
        return self.root / "wheels"

    @property
    def sdist_wheels(self) -> Path:
        """Wheels built from sdists, one directory per build key."""
        return self.root / "sdist-wheels"
