"""Wheels built on this machine from real sdists, against the host's system libraries.

``pip wheel --no-binary NAME --no-deps NAME==VERSION`` with a host interpreter that has headers
(pyenv's 3.9 and 3.11 here). Build isolation stays on: pip fetches setuptools/Cython wheels for the
build from the index, so the host interpreter is never modified; only NAME itself is built from
source (``--no-binary :all:`` would also compile Cython); ``--use-pep517`` makes setup.py-only
sdists build in isolation too. The wheels are plain ``linux_x86_64`` wheels linked to e.g.
``libyaml-0.so.2`` from the host, with pyenv's absolute RUNPATH: exactly what ``repair`` is for.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import re
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.harness.availability import Unavailable
from tests.harness.cache import HarnessCache, exclusive_lock, staging_dir

__all__ = [
    "BUILD_APT_PACKAGES",
    "PROJECTS",
    "HostPython",
    "SdistProject",
    "apt_packages_for",
    "build_sdist_wheel",
    "ensure_apt_packages",
    "find_python",
    "missing_apt_packages",
]

log = logging.getLogger(__name__)

# What every build needs besides the project's own -dev packages (the Python headers come with
# the interpreter: pyenv's, or python3-dev for Debian's).
BUILD_APT_PACKAGES = ("gcc", "libc6-dev", "pkg-config")


@dataclass(frozen=True, slots=True)
class SdistProject:
    """A project whose sdist builds a wheel linked against system libraries."""

    name: str
    version: str  # verified to build here for cp39 and cp311 on Debian 12
    apt_packages: tuple[str, ...]  # Debian 12 -dev packages the build needs
    module: str  # the compiled module to import (the pure-Python fallbacks prove nothing)
    libraries: tuple[str, ...]  # sonames it links that a minimal bookworm root lacks


PROJECTS: Mapping[str, SdistProject] = {
    p.name: p
    for p in (
        SdistProject("pyyaml", "6.0.3", ("libyaml-dev",), "yaml._yaml", ("libyaml-0.so.2",)),
        SdistProject("psycopg2", "2.9.12", ("libpq-dev",), "psycopg2._psycopg", ("libpq.so.5",)),
        # libffi is python's own dependency: a test must hide it to prove the graft.
        SdistProject("cffi", "2.0.0", ("libffi-dev",), "_cffi_backend", ()),
        SdistProject(
            "lxml",
            "6.0.2",
            ("libxml2-dev", "libxslt1-dev", "zlib1g-dev"),
            "lxml.etree",
            ("libxml2.so.2", "libxslt.so.1", "libexslt.so.0"),
        ),
        # 11.3.0 is the last Pillow that supports Python 3.9 (bullseye's python). With these
        # packages PIL._imaging links libjpeg, libz and libxcb, and PIL._imagingft libfreetype
        # (which brings libpng and libbrotli): a graft with dependencies of its own.
        SdistProject(
            "pillow",
            "11.3.0",
            ("libjpeg-dev", "zlib1g-dev", "libfreetype-dev", "libxcb1-dev"),
            "PIL._imaging",
            ("libjpeg.so.62", "libxcb.so.1"),
        ),
    )
}


def apt_packages_for(name: str) -> tuple[str, ...]:
    """The Debian packages building ``name`` from its sdist needs, the common ones included."""
    return BUILD_APT_PACKAGES + _project(name).apt_packages


def _project(name: str) -> SdistProject:
    try:
        return PROJECTS[name.lower()]
    except KeyError:
        raise ValueError(f"no sdist recipe for {name!r}; known: {', '.join(PROJECTS)}") from None


def missing_apt_packages(packages: Sequence[str]) -> list[str]:
    """Those of ``packages`` dpkg does not list as installed (all of them without dpkg)."""
    if shutil.which("dpkg-query") is None:
        return list(packages)
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\n", *packages],
        capture_output=True,
        text=True,
        check=False,
    )
    installed = {
        line.split()[0] for line in result.stdout.splitlines() if line.endswith(" installed")
    }
    return [p for p in packages if p not in installed]


def ensure_apt_packages(packages: Sequence[str], *, install: bool = True) -> None:
    """Install the missing ones of ``packages`` with apt-get when allowed and root.

    Raises :class:`Unavailable` naming them when they are missing and cannot be installed.
    """
    missing = missing_apt_packages(packages)
    if not missing:
        return
    if not install or os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise Unavailable(f"missing Debian packages: {' '.join(missing)} (apt-get install them)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = ["apt-get", "-qq", "-o", "DPkg::Lock::Timeout=300"]  # wait for another apt to finish
    for argv in ([*apt, "update"], [*apt, "install", "-y", "--no-install-recommends", *missing]):
        result = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{result.stderr[-3000:]}")


@dataclass(frozen=True, slots=True)
class HostPython:
    """A host interpreter wheels are built with, and what its wheels are keyed by."""

    executable: Path
    version: str  # full, e.g. "3.11.7"
    abi: str  # the cpython tag, e.g. "cp311"
    include: Path  # where Python.h should be


_PROBE = (
    "import json, sys, sysconfig;"
    "print(json.dumps([sys.executable, '%d.%d.%d' % sys.version_info[:3],"
    " sys.implementation.cache_tag.replace('cpython-', 'cp'), sysconfig.get_paths()['include']]))"
)


def _probe(executable: Path) -> HostPython | None:
    result = subprocess.run(
        [str(executable), "-I", "-c", _PROBE], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        return None
    exe, version, abi, include = json.loads(result.stdout)
    return HostPython(Path(exe), version, abi, Path(include))


def find_python(version: str, environ: Mapping[str, str] | None = None) -> HostPython:
    """A host CPython ``version`` ("3.11") with headers: pyenv's first, then ``python3.11``.

    Raises :class:`Unavailable` when there is none.
    """
    env = os.environ if environ is None else environ
    if not re.fullmatch(r"3\.\d+", version):
        raise ValueError(f"python version must look like '3.11', not {version!r}")
    pyenv = Path(env.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    candidates = sorted(pyenv.glob(f"{version}.*/bin/python{version}"), reverse=True)
    on_path = shutil.which(f"python{version}", path=env.get("PATH"))
    candidates += [Path(on_path)] if on_path else []
    for candidate in candidates:
        found = _probe(candidate)
        if (
            found
            and found.version.startswith(f"{version}.")
            and (found.include / "Python.h").is_file()
        ):
            return found
    raise Unavailable(f"no Python {version} with headers (Python.h) found in {pyenv} or on PATH")


def _host_glibc() -> str:
    libc, version = platform.libc_ver()
    return f"{libc}{version}" if libc else "unknown-libc"


def _build_key(project: str, version: str, python: HostPython) -> str:
    return (
        f"{project}-{version}-{python.abi}-py{python.version}-{_host_glibc()}-{platform.machine()}"
    )


def _wheel_in(directory: Path) -> Path | None:
    wheels = sorted(directory.glob("*.whl")) if directory.is_dir() else []
    return wheels[0] if len(wheels) == 1 else None


def build_sdist_wheel(
    name: str,
    version: str | None = None,
    *,
    python: str,
    cache: HarnessCache | None = None,
    install_apt: bool = True,
) -> Path:
    """The wheel built from ``name``'s sdist with host Python ``python``, cached after one build.

    ``version`` defaults to the verified pin in :data:`PROJECTS`. Missing -dev packages are
    installed when ``install_apt`` and root; otherwise :class:`Unavailable` names them. Needs the
    package index (PyPI) for the sdist and the build requirements on a cold cache.
    """
    project = _project(name)
    cache = cache or HarnessCache.default()
    host_python = find_python(python)
    key = _build_key(project.name, version or project.version, host_python)
    final = cache.sdist_wheels / key
    if (cached := _wheel_in(final)) is not None:
        return cached
    with exclusive_lock(cache, f"sdist-{key}"):
        if (cached := _wheel_in(final)) is not None:
            return cached
        ensure_apt_packages(apt_packages_for(project.name), install=install_apt)
        with staging_dir(cache.sdist_wheels, key) as staging:
            _pip_wheel(host_python, project.name, version or project.version, staging)
            shutil.rmtree(final, ignore_errors=True)  # a leftover without exactly one wheel
            staging.chmod(0o755)  # mkdtemp's 0700 would hide the cache from other users
            staging.rename(final)
    wheel = _wheel_in(final)
    if wheel is None:
        raise RuntimeError(f"building {key} did not leave exactly one wheel in {final}")
    return wheel


def _pip_wheel(python: HostPython, name: str, version: str, out: Path) -> None:
    # --use-pep517: setup.py-only sdists (psycopg2) also build in isolation, not with whatever
    # setuptools/wheel the host interpreter happens to have.
    argv = [str(python.executable), "-m", "pip", "wheel", "--no-deps", "--no-binary", name]
    # --no-cache-dir: pip >= 23.1 would otherwise reuse a wheel it built earlier, maybe elsewhere.
    argv += ["--use-pep517", "--no-cache-dir"]
    argv += ["--disable-pip-version-check", "--wheel-dir", str(out), f"{name}=={version}"]
    started = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=out)
    if result.returncode != 0 or _wheel_in(out) is None:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
        raise RuntimeError(f"{' '.join(argv)} failed (exit {result.returncode}):\n{tail}")
    log.info("built %s==%s for %s: %.1f s", name, version, python.abi, time.monotonic() - started)
