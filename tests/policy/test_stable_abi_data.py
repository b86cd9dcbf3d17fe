"""The shipped Stable ABI data against real interpreters: every symbol a version's Stable ABI
has is exported by that version's libpython (pyenv's 3.7 to 3.13, Debian's 3.14.10 and 3.15.2),
no GIL-enabled libpython exports a free-threaded-only symbol, the extension suffixes
manywheel expects are each interpreter's own ``importlib.machinery.EXTENSION_SUFFIXES``, and
the versions agree with abi3info (the data abi3audit uses, generated from the same toml)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from manywheel.policy import StableAbi, extension_suffixes
from tests.audit.test_abi3audit_differential import _abi3audit
from tests.harness.availability import Unavailable, skip_or_fail
from tests.harness.cpython_debs import CPythonDebs, cpython_debs
from tests.harness.sdists import HostPython, find_python

PYENV = ["3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]
ABSENT_ON_LINUX = {"MS_WINDOWS", "USE_STACKCHECK", "Py_REF_DEBUG", "Py_TRACE_REFS"}
#: Where CPython's record and its binaries disagree, found by this test (not manywheel's to fix).
KNOWN = {
    # the record says 3.2; the function first appeared in 3.8
    ("PyThread_get_thread_native_id", "3.7"),
    # 3.9 turned it into a macro and stopped exporting it (restored in 3.10)
    ("PyCFunction_New", "3.9"),
}


@pytest.fixture(scope="module")
def data() -> StableAbi:
    return StableAbi.load()


def _host(version: str) -> HostPython:
    try:
        return find_python(version)
    except Unavailable as e:
        skip_or_fail(str(e))


def _debs(version: str) -> CPythonDebs:
    try:
        return cpython_debs(version)
    except Unavailable as e:
        skip_or_fail(str(e))


def _exports(library: Path) -> set[str]:
    argv = ["nm", "-D", "--defined-only", str(library)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return {line.split()[-1].split("@")[0] for line in out.splitlines() if line.strip()}


def _libpython(version: str) -> Path:
    if version in PYENV:
        python = _host(version)
        found = sorted(python.executable.parent.parent.glob("lib/libpython3*.so.1.0"))
        if not found:
            skip_or_fail(f"{python.executable} has no shared libpython")
        return found[0]
    return _debs(version).libpython


@pytest.mark.parametrize("version", [*PYENV, "3.14", "3.15"])
def test_each_libpython_exports_its_stable_abi(data: StableAbi, version: str) -> None:
    exported = _exports(_libpython(version))
    major, minor = map(int, version.split("."))
    wanted = {
        s.name
        for s in data.symbols.values()
        if s.added <= (major, minor)
        and s.ifdef not in ABSENT_ON_LINUX
        and (s.name, version) not in KNOWN
    }
    assert wanted - exported == set()
    assert set(data.free_threaded_only) & exported == set()


@pytest.mark.parametrize("version", PYENV)
def test_extension_suffixes_are_the_interpreters_own(version: str) -> None:
    python = _host(version)
    code = "import importlib.machinery as m, json; print(json.dumps(m.EXTENSION_SUFFIXES))"
    argv = [str(python.executable), "-I", "-c", code]
    out = subprocess.run(argv, capture_output=True, check=True)
    real = json.loads(out.stdout)
    major, minor = map(int, version.split("."))
    assert list(extension_suffixes((major, minor), False, "x86_64-linux-gnu")) == real


def test_the_315_suffixes_are_in_its_libpython() -> None:
    """No 3.15 interpreter runs here: its suffix table is read from the library's strings."""
    strings = subprocess.run(
        ["strings", str(_debs("3.15").libpython)], capture_output=True, text=True, check=True
    ).stdout.split()
    expected = extension_suffixes((3, 15), False, "x86_64-linux-gnu")
    assert expected[-1] == ".so"  # shorter than what strings(1) prints
    assert all(s in strings for s in expected[:-1]), expected
    assert ".cpython-315-x86_64-linux-gnu.so" in strings


def _abi3info() -> dict[str, str]:
    python = _abi3audit().parent / "python"
    code = (
        "import json; from abi3info import FUNCTIONS, DATAS;"
        "print(json.dumps({s.name: f'{o.added.major}.{o.added.minor}'"
        " for s, o in [*FUNCTIONS.items(), *DATAS.items()]}))"
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout))


@pytest.mark.slow
@pytest.mark.network
def test_versions_agree_with_abi3info(data: StableAbi) -> None:
    theirs = _abi3info()
    ours = {n: f"{s.added[0]}.{s.added[1]}" for n, s in data.symbols.items()}
    both = ours.keys() & theirs.keys()
    assert {n: (ours[n], theirs[n]) for n in both if ours[n] != theirs[n]} == {}
    # what only one side has: items of 3.15 and later (abi3info read a later toml, of CPython's
    # main branch; manywheel a 3.15 snapshot and the 3.15.2 headers); nothing older may differ
    only = {n: ours.get(n) or theirs[n] for n in ours.keys() ^ theirs.keys()}
    assert all(v in ("3.15", "3.16") for v in only.values()), only
