"""Python interpreters on the host that builds can use: pyenv's versions, ``uv``'s managed
Pythons, ``python3.X`` on ``PATH``, and the ones named with ``--python``.

Each candidate is asked about itself once (a small probe script, run with a timeout on a few
threads): implementation, version, free-threaded or not, architecture, libc, and whether it has
the headers an extension build needs. Nothing is searched at import time; the CLI calls
:func:`discover_interpreters` with the machine's facts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from manywheel.build.identifiers import (
    KNOWN_PYTHONS,
    BuildIdentifier,
    Platform,
    PythonImplementation,
)
from manywheel.build.probe_cache import ProbeCache
from manywheel.policy import Libc
from manywheel.values import value_class

__all__ = [
    "Interpreter",
    "InterpreterSearch",
    "best_interpreters",
    "discover_interpreters",
    "machine_arch",
    "probe_interpreter",
]

#: Runs under any Python (2.7 included, to be refused with a clear reason): prints one JSON line.
PROBE = r"""
import json, os, platform, sys, sysconfig
try:
    import importlib.util as util
    has_venv = util.find_spec("venv") is not None
except ImportError:
    has_venv = False
cfg = sysconfig.get_config_var
include = sysconfig.get_paths().get("include") or ""
host = cfg("HOST_GNU_TYPE") or cfg("MULTIARCH") or ""
print(json.dumps({
    "implementation": sys.implementation.name if hasattr(sys, "implementation") else "cpython",
    "version": list(sys.version_info[:2]),
    "free_threaded": bool(cfg("Py_GIL_DISABLED")),
    "machine": platform.machine(),
    "musl": "musl" in host,
    "headers": os.path.isfile(os.path.join(include, "Python.h")),
    "venv": has_venv,
    "executable": sys.executable,
}))
"""

PROBE_TIMEOUT = 30.0

#: ``platform.machine()`` spellings -> cibuildwheel's architecture names.
_MACHINES = {
    "x86_64": "x86_64",
    "amd64": "x86_64",
    "i386": "i686",
    "i486": "i686",
    "i586": "i686",
    "i686": "i686",
    "aarch64": "aarch64",
    "arm64": "aarch64",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "armv7l": "armv7l",
    "armv8l": "armv7l",
    "riscv64": "riscv64",
}


def machine_arch(machine: str) -> str | None:
    """cibuildwheel's architecture name for a ``platform.machine()`` value (``amd64`` ->
    ``x86_64``), or ``None`` for one it does not know."""
    return _MACHINES.get(machine.lower())


@value_class
class Interpreter:
    """A Python that can build wheels for one identifier of each platform of its libc."""

    path: str
    implementation: PythonImplementation
    version: tuple[int, int]
    free_threaded: bool
    arch: str
    libc: Libc
    #: Where it was found: ``--python``, ``pyenv``, ``uv``, ``PATH``.
    origin: str
    #: ``Python.h`` is installed (an extension cannot be built without it).
    headers: bool = True
    #: The ``venv`` module is there (the frontend's isolated environment needs it).
    venv: bool = True

    @property
    def identifier(self) -> BuildIdentifier:
        platform = Platform.MUSLLINUX if self.libc is Libc.MUSL else Platform.MANYLINUX
        return BuildIdentifier(
            self.implementation, self.version, self.free_threaded, platform, self.arch
        )

    @property
    def problem(self) -> str | None:
        """Why it cannot build, or ``None``."""
        if not self.headers:
            return f"{self.path} has no Python.h (install its development headers)"
        if not self.venv:
            return f"{self.path} has no venv module (the isolated build environment needs it)"
        return None


@value_class
class InterpreterSearch:
    """Where to look, as the CLI sees the machine."""

    #: ``--python`` paths, looked at first and always reported when unusable.
    explicit: tuple[str, ...] = ()
    #: ``$PYENV_ROOT`` (else ``~/.pyenv``); ``None``: do not look.
    pyenv_root: Path | None = None
    #: ``PATH``, to find ``python3.X`` and ``uv``; ``None``: do not look.
    path: str | None = None
    use_uv: bool = True
    environ: Mapping[str, str] | None = None


def _probe_environment(environ: Mapping[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in (environ or {}).items() if not k.startswith("PYTHON")}
    env.setdefault("PATH", os.defpath)
    return env


def _run_probe(path: str, environ: Mapping[str, str] | None) -> dict[str, Any] | str:
    try:
        result = subprocess.run(
            [path, "-c", PROBE],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            env=_probe_environment(environ),
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"{path}: cannot run it ({e})"
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return f"{path}: not a usable Python 3 ({last})"
    try:
        facts = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return f"{path}: its answer to the probe is not understood"
    return facts if isinstance(facts, dict) else f"{path}: its answer is not understood"


def probe_interpreter(
    path: str,
    origin: str,
    environ: Mapping[str, str] | None = None,
    cache: ProbeCache | None = None,
) -> Interpreter | str:
    """Ask the interpreter at ``path`` about itself (or ``cache``, when it answered before and
    has not changed since): an :class:`Interpreter`, or one line saying why it cannot be used."""
    facts = cache.get(path) if cache is not None else None
    if facts is None:
        answer = _run_probe(path, environ)
        if isinstance(answer, str):
            return answer
        facts = answer
        if cache is not None:
            cache.put(path, facts)
    try:
        implementation = {"cpython": "cp", "pypy": "pp"}.get(facts["implementation"])
        version = (int(facts["version"][0]), int(facts["version"][1]))
        machine = machine_arch(str(facts["machine"]))
    except (ValueError, KeyError, IndexError, TypeError):
        return f"{path}: its answer to the probe is not understood"
    if implementation is None:
        return f"{path}: {facts['implementation']} is not supported (CPython and PyPy are)"
    if version[0] != 3:
        return f"{path}: Python {version[0]}.{version[1]} cannot build wheels here (Python 3 only)"
    if machine is None:
        return f"{path}: unknown architecture {facts['machine']!r}"
    executable = facts.get("executable")
    return Interpreter(
        path=executable if isinstance(executable, str) and executable else path,
        implementation=PythonImplementation(implementation),
        version=version,
        free_threaded=bool(facts["free_threaded"]),
        arch=machine,
        libc=Libc.MUSL if facts["musl"] else Libc.GLIBC,
        origin=origin,
        headers=bool(facts["headers"]),
        venv=bool(facts["venv"]),
    )


def _pyenv_candidates(root: Path) -> list[str]:
    versions = root / "versions"
    if not versions.is_dir():
        return []
    found = []
    for entry in sorted(versions.iterdir()):
        python = entry / "bin" / "python3"
        if entry.name[:1].isdigit() and not entry.name.startswith("2") and python.exists():
            found.append(str(python))
    return found


def _uv_candidates(path: str, environ: Mapping[str, str] | None) -> list[str]:
    uv = shutil.which("uv", path=path)
    if uv is None:
        return []
    try:
        result = subprocess.run(
            [uv, "python", "list", "--only-installed", "--output-format", "json"],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            env=_probe_environment(environ),
            check=False,
        )
        entries = json.loads(result.stdout) if result.returncode == 0 else []
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return []
    return [str(e["path"]) for e in entries if isinstance(e, dict) and e.get("path")]


def _is_elf(path: str) -> bool:
    """A real interpreter, not a wrapper script such as a pyenv shim (whose choice depends on
    the directory it runs in; pyenv's versions are searched directly instead)."""
    try:
        with Path(path).open("rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def _path_candidates(path: str) -> list[str]:
    names = [f"python{major}.{minor}{t}" for major, minor in KNOWN_PYTHONS for t in ("", "t")]
    found = (shutil.which(name, path=path) for name in names)
    return [p for p in found if p is not None and _is_elf(p)]


def _candidates(search: InterpreterSearch) -> list[tuple[str, str]]:
    candidates = [(p, "--python") for p in search.explicit]
    if search.pyenv_root is not None:
        candidates += [(p, "pyenv") for p in _pyenv_candidates(search.pyenv_root)]
    if search.path is not None:
        if search.use_uv:
            candidates += [(p, "uv") for p in _uv_candidates(search.path, search.environ)]
        candidates += [(p, "PATH") for p in _path_candidates(search.path)]
    return candidates


def _dedupe(candidates: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: set[str] = set()
    unique = []
    for path, origin in candidates:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            unique.append((path, origin))
    return unique


def discover_interpreters(
    search: InterpreterSearch, *, workers: int = 4, cache: ProbeCache | None = None
) -> tuple[list[Interpreter], list[str]]:
    """The usable interpreters, best first for each identifier (``--python`` ones, then pyenv,
    uv, ``PATH``), and one line for each explicit ``--python`` that cannot be used (other
    unusable candidates are left out quietly). ``cache`` keeps the answers between runs."""
    candidates = _dedupe(_candidates(search))
    explicit = set(search.explicit)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        answers = list(
            pool.map(lambda c: probe_interpreter(c[0], c[1], search.environ, cache), candidates)
        )
    if cache is not None:
        cache.save()
    found: list[Interpreter] = []
    problems: list[str] = []
    seen: set[str] = set()
    for (path, _), answer in zip(candidates, answers, strict=True):
        if isinstance(answer, Interpreter):
            real = os.path.realpath(answer.path)  # a pyenv shim runs one found already
            if real not in seen:
                seen.add(real)
                found.append(answer)
        elif path in explicit:
            problems.append(answer)
    return found, problems


def best_interpreters(
    interpreters: Sequence[Interpreter],
) -> dict[BuildIdentifier, Interpreter]:
    """The first interpreter found for each identifier it can build."""
    best: dict[BuildIdentifier, Interpreter] = {}
    for interpreter in interpreters:
        best.setdefault(interpreter.identifier, interpreter)
    return best
