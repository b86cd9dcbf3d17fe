"""CPython's own headers and shared library for versions the host has no interpreter of: Debian
sid's ``libpython3.X-dev`` and ``libpython3.X`` packages (3.14.10, 3.15.2 when written), fetched
with apt from the host's Debian mirror under a private apt configuration (the host's own apt
state is never touched) and unpacked once into the cache.

What they are for: building real extension modules against real headers without running them —
free-threaded modules (the headers with ``Py_GIL_DISABLED`` defined, as a ``--disable-gil``
build's ``pyconfig.h`` defines it), abi3t modules (``Py_TARGET_ABI3T``, 3.15) — and reading
3.15's extension suffixes from its libpython.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.harness.availability import Unavailable
from tests.harness.cache import HarnessCache, exclusive_lock, staging_dir
from tests.harness.roots import host_debian_mirror

__all__ = ["CPythonDebs", "cpython_debs"]

SUITE = "sid"
_FORMAT = 1


@dataclass(frozen=True, slots=True)
class CPythonDebs:
    """One CPython version's unpacked packages."""

    version: str
    root: Path

    @property
    def include(self) -> list[Path]:
        """``-I`` directories: ``Python.h``, then the multiarch ``pyconfig.h``'s parent."""
        return [self.root / f"usr/include/python{self.version}", self.root / "usr/include"]

    @property
    def libpython(self) -> Path:
        return self.root / f"usr/lib/x86_64-linux-gnu/libpython{self.version}.so.1.0"

    @property
    def package_version(self) -> str:
        return (self.root / "VERSION").read_text().strip()


def _apt(work: Path, mirror: str, *args: str) -> subprocess.CompletedProcess[str]:
    sources = work / "sid.sources"
    if not sources.exists():
        sources.write_text(
            f"Types: deb\nURIs: {mirror}\nSuites: {SUITE}\nComponents: main\n"
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        )
        for sub in ("lists/partial", "cache/archives/partial"):
            (work / sub).mkdir(parents=True, exist_ok=True)
    options = [
        f"-oDir::Etc::SourceList={sources}",
        "-oDir::Etc::SourceParts=/dev/null",
        f"-oDir::State::Lists={work / 'lists'}",
        f"-oDir::Cache={work / 'cache'}",
        "-oDir::State::status=/dev/null",
        "-oAPT::Architecture=amd64",
        "-oAPT::Sandbox::User=root",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return subprocess.run(
        ["apt-get", *options, *args],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env=env,
    )


def _fetch(version: str, dest: Path, mirror: str, work: Path) -> None:
    if not (work / "lists").is_dir() or not any((work / "lists").iterdir()):
        done = _apt(work, mirror, "update")
        if done.returncode != 0:
            raise Unavailable(f"apt-get update ({SUITE}) failed: {done.stderr.strip()[-300:]}")
    packages = [f"libpython{version}-dev", f"libpython{version}"]
    done = _apt(work, mirror, "download", *packages)
    debs = sorted(work.glob(f"libpython{version}*_amd64.deb"))
    if done.returncode != 0 or len(debs) != 2:
        raise Unavailable(f"cannot download {packages} from {SUITE}: {done.stderr.strip()[-300:]}")
    for deb in debs:
        subprocess.run(["dpkg-deb", "-x", str(deb), str(dest)], check=True)
    dev = next(d for d in debs if "-dev_" in d.name)
    (dest / "VERSION").write_text(dev.name.split("_")[1] + "\n")


def cpython_debs(version: str, cache: HarnessCache | None = None) -> CPythonDebs:
    """The packages of CPython ``version`` (``"3.14"``), from the cache or fetched first.
    Raises :class:`Unavailable` without apt, dpkg-deb, or a reachable Debian mirror."""
    if os.uname().machine != "x86_64":
        raise Unavailable("the CPython packages are fetched for amd64 only")
    cache = cache or HarnessCache.default()
    parent = cache.root / "cpython-debs"
    target = parent / f"{version}-v{_FORMAT}"
    if (target / "VERSION").is_file():
        return CPythonDebs(version, target)
    mirror = host_debian_mirror()
    if mirror is None:
        raise Unavailable("the host's apt sources name no Debian mirror")
    with exclusive_lock(cache, "cpython-debs"):
        if not (target / "VERSION").is_file():
            with staging_dir(parent, f"python{version}") as staging:
                work = staging / "apt"
                work.mkdir()
                unpacked = staging / "root"
                _fetch(version, unpacked, mirror, work)
                unpacked.replace(target)
    return CPythonDebs(version, target)
