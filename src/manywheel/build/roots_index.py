"""Where pip inside a root finds packages: said explicitly, never inherited from the host.

The host's ``PIP_*`` variables never reach a root (they can name host paths or break pip there).
What pip inside should use is a :class:`PackageIndex`: index URLs and find-links, turned into
``PIP_*`` variables for the command and read-only bind mounts for the local ones (a
``file:///opt/pypi/simple`` index, a ``/opt/wheels`` directory) at the same paths, so the
same URLs work inside. The CLI builds one from the host's pip configuration
(:meth:`PackageIndex.from_pip_config`) or from its own options.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from manywheel.build.roots_run import Bind
from manywheel.values import value_class

__all__ = ["PackageIndex"]


def _local_path(location: str) -> Path | None:
    """The local directory a ``file:`` URL or a plain path names, else ``None``."""
    if location.startswith("file:"):
        return Path(unquote(urlsplit(location).path))
    if "://" in location:
        return None
    return Path(location)


@value_class
class PackageIndex:
    """pip's sources inside a root: ``index_url`` (``None``: pip's default, PyPI), extra index
    URLs, find-links; ``no_index`` uses only find-links (offline)."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False

    def environment(self) -> dict[str, str]:
        """The ``PIP_*`` variables that say this to pip."""
        env: dict[str, str] = {}
        if self.index_url:
            env["PIP_INDEX_URL"] = self.index_url
        if self.extra_index_urls:
            env["PIP_EXTRA_INDEX_URL"] = " ".join(self.extra_index_urls)
        if self.find_links:
            env["PIP_FIND_LINKS"] = " ".join(self.find_links)
        if self.no_index:
            env["PIP_NO_INDEX"] = "1"
        return env

    def binds(self) -> list[Bind]:
        """Read-only binds of the local sources that exist, at their own paths. For an index
        (``.../simple``) the directory above it is bound, where its files usually are."""
        binds: dict[PurePosixPath, Bind] = {}
        indexes = [u for u in (self.index_url, *self.extra_index_urls) if u]
        for location, is_index in [(u, True) for u in indexes] + [
            (f, False) for f in self.find_links
        ]:
            path = _local_path(location)
            if path is None or not path.is_absolute():
                continue
            if is_index and path.name == "simple":
                path = path.parent
            if path.is_dir():
                binds.setdefault(PurePosixPath(path), Bind(path))
        return list(binds.values())

    @classmethod
    def from_pip_config(cls, text: str, environ: Mapping[str, str] | None = None) -> PackageIndex:
        """From ``pip config list`` output (``global.index-url='...'`` lines), with ``PIP_*``
        variables of ``environ`` taking precedence, as pip itself does."""
        values: dict[str, str] = {}
        for line in text.splitlines():
            found = re.match(r"^(?:global|install|:env:)\.([a-z-]+)=(.*)$", line.strip())
            if found:
                raw = found.group(2)
                words = shlex.split(raw) if raw[:1] in {"'", '"'} else [raw]
                values[found.group(1)] = words[0] if words else ""
        for key, value in (environ or {}).items():
            if key.startswith("PIP_"):
                values[key[4:].lower().replace("_", "-")] = value
        return cls(
            index_url=values.get("index-url") or None,
            extra_index_urls=tuple(values.get("extra-index-url", "").split()),
            find_links=tuple(values.get("find-links", "").split()),
            no_index=values.get("no-index", "").lower() in {"1", "true", "yes", "on"},
        )
