"""Minimal Debian roots: built once with debootstrap, cached as a tar.zst, unpacked per session.

A root is ``debootstrap --variant=minbase --include=python3,python3-venv`` plus the host's CA
bundle, with apt lists, docs, man pages and locales removed. It has python and python's own
dependencies (libffi, libssl, ...) and nothing else: the clean system a repaired wheel must work on.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.harness.availability import Unavailable, missing_tools
from tests.harness.cache import HarnessCache, exclusive_lock, staging_dir

__all__ = [
    "FALLBACK_MIRROR",
    "ROOT_FORMAT_VERSION",
    "SUITES",
    "Suite",
    "debian_root",
    "host_debian_mirror",
    "root_archive",
    "scratch_base",
    "unpack_root",
]

log = logging.getLogger(__name__)

# Bump when what goes into a root changes: the archive name carries it, so old caches are ignored.
ROOT_FORMAT_VERSION = 1
INCLUDED_PACKAGES = ("python3", "python3-venv")
FALLBACK_MIRROR = "http://deb.debian.org/debian"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# Deleted before packing: nothing a test needs, most of the size.
PRUNED = (
    "var/lib/apt/lists",
    "var/cache/apt",
    "var/cache/debconf",
    "var/log",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
)


@dataclass(frozen=True, slots=True)
class Suite:
    """A Debian release the harness can build a root of, with the facts tests rely on."""

    name: str
    glibc: tuple[int, int]
    python: str  # the root's python3, e.g. "3.11"


SUITES: Mapping[str, Suite] = {
    s.name: s
    for s in (
        Suite("bullseye", (2, 31), "3.9"),
        Suite("bookworm", (2, 36), "3.11"),
        Suite("trixie", (2, 41), "3.13"),
    )
}

_DEBIAN_SUITE = re.compile(r"^(buster|bullseye|bookworm|trixie|forky|sid|stable|testing)(-.*)?$")


def _suite_entries(text: str) -> Iterable[tuple[str, list[str]]]:
    """(URI, suites) of each ``deb`` source in a one-line ``.list`` or deb822 ``.sources`` text."""
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if stripped.startswith("deb "):
                words = re.sub(r"\[[^]]*\]", "", stripped).split()
                if len(words) >= 3:
                    yield words[1], [words[2]]
            elif ":" in stripped:
                key, _, value = stripped.partition(":")
                fields[key.strip().lower()] = value.strip()
        if "deb" in fields.get("types", "").split() and fields.get("enabled", "yes") != "no":
            for uri in fields.get("uris", "").split():
                yield uri, fields.get("suites", "").split()


def host_debian_mirror(apt_dir: Path = Path("/etc/apt")) -> str | None:
    """The Debian archive mirror the host's apt sources name (not its security mirror), if any."""
    files = [apt_dir / "sources.list"]
    for pattern in ("*.list", "*.sources"):
        files += sorted((apt_dir / "sources.list.d").glob(pattern))
    for path in files:
        if not path.is_file():
            continue
        for uri, suites in _suite_entries(path.read_text(encoding="utf-8", errors="replace")):
            debian = [s for s in suites if _DEBIAN_SUITE.match(s) and "security" not in s]
            if debian and "security" not in uri:
                return uri.rstrip("/")
    return None


def _archive_path(cache: HarnessCache, suite: str) -> Path:
    return cache.roots / f"{suite}-v{ROOT_FORMAT_VERSION}.tar.zst"


def _run(argv: list[str], what: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise RuntimeError(f"{what} failed (exit {result.returncode}):\n{tail}")


def _debootstrap(suite: str, target: Path, mirror: str, cache: HarnessCache) -> None:
    if os.geteuid() != 0:
        raise Unavailable(f"building a {suite} root needs root (debootstrap)")
    missing = missing_tools(["debootstrap", "tar", "zstd"])
    if missing:
        raise Unavailable(
            f"building a {suite} root needs {', '.join(missing)} (apt-get install debootstrap zstd)"
        )
    cache.debs.mkdir(parents=True, exist_ok=True)
    argv = [
        "debootstrap",
        "--variant=minbase",
        f"--include={','.join(INCLUDED_PACKAGES)}",
        f"--cache-dir={cache.debs}",
        suite,
        str(target),
        mirror,
    ]
    started = time.monotonic()
    _run(argv, f"debootstrap {suite} from {mirror}")
    log.info("debootstrap %s: %.1f s", suite, time.monotonic() - started)


def _finish_root(root: Path) -> None:
    """Prune what tests never need and give the root the host's CA bundle (for pip over TLS)."""
    for relative in PRUNED:
        target = root / relative
        if target.is_dir():
            shutil.rmtree(target)
            target.mkdir(mode=0o755)
    if HOST_CA_BUNDLE.is_file():
        inside = root / HOST_CA_BUNDLE.relative_to("/")
        inside.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(HOST_CA_BUNDLE, inside)


def root_archive(suite: str, *, cache: HarnessCache, mirror: str | None = None) -> Path:
    """The packed root for ``suite``, building it first when the cache has none.

    Safe for concurrent callers: one builds under a lock, the others wait and reuse it.
    """
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; known: {', '.join(SUITES)}")
    archive = _archive_path(cache, suite)
    if archive.is_file():
        return archive
    with exclusive_lock(cache, f"root-{suite}"):
        if archive.is_file():  # another process built it while we waited
            return archive
        source = mirror or host_debian_mirror() or FALLBACK_MIRROR
        with staging_dir(cache.roots, f"build-{suite}") as staging:
            tree = staging / "root"
            _debootstrap(suite, tree, source, cache)
            _finish_root(tree)
            packed = staging / archive.name
            _run(
                [
                    "tar",
                    "--numeric-owner",
                    "-I",
                    "zstd -T0 -6",
                    "-cf",
                    str(packed),
                    "-C",
                    str(tree),
                    ".",
                ],
                f"packing the {suite} root",
            )
            packed.replace(archive)
    return archive


def unpack_root(archive: Path, dest: Path) -> Path:
    """Unpack a packed root into the empty or missing directory ``dest``; returns ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty")
    _run(
        ["tar", "--numeric-owner", "-I", "zstd -T0", "-xf", str(archive), "-C", str(dest)],
        f"unpacking {archive}",
    )
    return dest


def debian_root(
    suite: str, dest: Path, *, cache: HarnessCache | None = None, mirror: str | None = None
) -> Path:
    """A fresh minimal ``suite`` root at ``dest`` (built and cached on first use, else unpacked).

    Raises :class:`Unavailable` when the root is not cached and this machine cannot build it.
    """
    return unpack_root(
        root_archive(suite, cache=cache or HarnessCache.default(), mirror=mirror), dest
    )


def scratch_base(candidates: Iterable[Path] = (Path("/dev/shm"),), min_free: int = 2 << 30) -> Path:
    """Where to unpack roots: a tmpfs when one allows devices and executables and has room.

    Unpacking a root (~130 MB of small files) takes ~0.2 s on tmpfs and 1-5 s on a busy disk.
    """
    for candidate in candidates:
        try:
            stat = os.statvfs(candidate)
        except OSError:
            continue
        usable = not stat.f_flag & (os.ST_NODEV | os.ST_NOEXEC | os.ST_RDONLY)
        if usable and stat.f_bavail * stat.f_frsize >= min_free and os.access(candidate, os.W_OK):
            return candidate
    return Path(tempfile.gettempdir())
