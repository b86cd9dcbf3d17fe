"""manywheel's abi3 verdict against abi3audit 0.0.26 (PyPI; its symbol data is abi3info, also
generated from CPython's stable_abi.toml) on real abi3 wheels from the package index and on the
modules built here (abi_fixtures): the same symbols found outside the Stable ABI and the same
symbols newer than the tag's baseline, with the same versions.

The differences, each checked rather than tolerated:

- abi3audit flags every ``Py``/``_Py`` name in a file, defined ones too (a module's own
  ``PyFoo_Bar`` helper, shiboken's ``PyMethod_New`` shim), and imports a library of the wheel
  provides (PySide's ``PySideSignalInstance_TypeF``, from ``libpyside6``); manywheel judges
  what a module imports from the interpreter, so an extra of abi3audit's must be a symbol an
  ELF file of the wheel defines;
- abi3audit scans only ``*.so`` names; manywheel also judges versioned libraries
  (``libpyside6.abi3.so.6.11``), which are compared here only where abi3audit looks;
- a symbol outside the Stable ABI that a library the audit cannot find may define (PySide's
  modules and shiboken, another wheel) is a note in manywheel, a violation in abi3audit: both
  are compared as "outside the Stable ABI";
- with several python tags abi3audit takes the highest baseline, manywheel the lowest (the one
  an installer acts on); the wheels here have one tag each.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from manywheel.audit import AuditReport, audit_wheel
from manywheel.policy import AbiProblemKind
from tests.audit.abi_fixtures import AbiModules, build_abi_modules, module_wheel
from tests.audit.real_wheels import tool_in_venv
from tests.harness.availability import Unavailable, skip_or_fail
from tests.harness.downloads import download_wheel

pytestmark = [pytest.mark.slow, pytest.mark.network]

ABI3AUDIT = "abi3audit==0.0.26"
#: Real abi3 wheels (pinned), from the machine's local index or the package index.
REAL = [
    "cryptography==50.0.2",
    "protobuf==6.33.6",  # cp39-abi3 using PyUnicode_AsUTF8AndSize (3.10)
    "pyside6-essentials==6.11.2",  # Py names from shiboken (another wheel) and its own
    "shiboken6==6.11.2",
    "bcrypt==5.0.0",
    "pynacl==1.6.2",
    "nh3==0.3.7",
    "psutil==7.2.2",
    "tornado==6.5.10",
    "pyerfa==2.0.1.5",
    "sgp4==2.27",
    "argon2-cffi-bindings==26.1.0",
]
_LOCAL = (Path("/opt/pypi/files"), Path("/opt/pypi-more/files"), Path("/opt/wheels"))


def _abi3audit() -> Path:
    return tool_in_venv(ABI3AUDIT, "abi3audit")


def _real(requirement: str) -> Path:
    name, version = requirement.split("==")
    stem = name.replace("-", "_").lower()
    for directory in _LOCAL:
        for path in sorted(directory.glob("*-abi3-*.whl")) if directory.is_dir() else ():
            parts = path.name.split("-")
            if parts[0].lower() == stem and parts[1] == version and "x86_64" in path.name:
                return path
    return download_wheel(requirement, "manylinux_2_17_x86_64")


@dataclass(frozen=True, slots=True)
class Findings:
    """Per ``.so`` file name: symbols outside the Stable ABI; symbol -> version, for symbols
    newer than the baseline."""

    outside: dict[str, set[str]]
    newer: dict[str, dict[str, str]]


def _theirs(wheel: Path) -> Findings:
    done = subprocess.run(
        [str(_abi3audit()), "-R", str(wheel)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    (spec,) = json.loads(done.stdout)["specs"].values()
    outside, newer = {}, {}
    for entry in spec["wheel"]:
        outside[entry["name"]] = set(entry["result"]["non_abi3_symbols"])
        newer[entry["name"]] = dict(entry["result"]["future_abi3_objects"])
    return Findings(outside, newer)


def _ours(report: AuditReport) -> Findings:
    verdict = report.python_abi
    assert verdict is not None
    outside: dict[str, set[str]] = {}
    newer: dict[str, dict[str, str]] = {}
    for problem in (*verdict.problems, *verdict.notes):
        if problem.member is None or not problem.member.endswith(".so"):
            continue
        name = problem.member.rsplit("/", 1)[-1]
        if problem.kind in (AbiProblemKind.NOT_IN_STABLE_ABI, AbiProblemKind.FREE_THREADED_BUILD):
            outside.setdefault(name, set()).update(problem.symbols)
        elif problem.kind is AbiProblemKind.NEWER_THAN_TAG:
            version = problem.version or ""
            newer.setdefault(name, {}).update(dict.fromkeys(problem.symbols, version))
    return Findings(outside, newer)


def _defined(report: AuditReport) -> set[str]:
    """``Py`` names the wheel's own ELF files define: not the interpreter's."""
    return {
        s.name
        for member in report.members
        for s in member.elf.symbols
        if s.defined and s.name.startswith(("Py", "_Py"))
    }


def _compare(wheel: Path) -> None:
    report = audit_wheel(wheel)
    ours, theirs = _ours(report), _theirs(wheel)
    names = set(theirs.outside) | set(ours.outside) | set(theirs.newer) | set(ours.newer)
    own = _defined(report)
    for name in sorted(names):
        assert ours.newer.get(name, {}) == theirs.newer.get(name, {}), name
        mine, yours = ours.outside.get(name, set()), theirs.outside.get(name, set())
        assert mine <= yours, f"{name}: only manywheel finds {mine - yours}"
        unexplained = yours - mine - own
        assert not unexplained, f"{name}: only abi3audit finds {unexplained}"


@pytest.mark.parametrize("requirement", REAL, ids=REAL)
def test_real_abi3_wheels_agree(requirement: str) -> None:
    _compare(_real(requirement))


@pytest.fixture(scope="module")
def modules(tmp_path_factory: pytest.TempPathFactory) -> AbiModules:
    try:
        return build_abi_modules(tmp_path_factory.mktemp("abi-modules"))
    except Unavailable as e:
        skip_or_fail(str(e))


CRAFTED = [
    ("limited37", "limited37.abi3.so", "cp37-abi3"),
    ("limited312", "limited312.abi3.so", "cp38-abi3"),
    ("limited312", "limited312.abi3.so", "cp312-abi3"),
    ("nonlimited", "nonlimited.abi3.so", "cp38-abi3"),
    ("ft314", "ft314.abi3.so", "cp314-abi3"),
]


@pytest.mark.parametrize(
    ("module", "filename", "tag"), CRAFTED, ids=[f"{m}-{t}" for m, _, t in CRAFTED]
)
def test_crafted_modules_agree(
    modules: AbiModules, tmp_path: Path, module: str, filename: str, tag: str
) -> None:
    _compare(module_wheel(modules, tmp_path, module, filename, f"{tag}-linux_x86_64"))


def test_the_crafted_violations_are_real(modules: AbiModules, tmp_path: Path) -> None:
    """Agreement on something: abi3audit does see the violations built in."""
    wheel = module_wheel(
        modules, tmp_path, "limited312", "limited312.abi3.so", "cp38-abi3-linux_x86_64"
    )
    assert _theirs(wheel).newer == {
        "limited312.abi3.so": {"PyObject_Vectorcall": "3.12", "_Py_DecRef": "3.10"}
    }
    wheel = module_wheel(
        modules, tmp_path, "nonlimited", "nonlimited.abi3.so", "cp38-abi3-linux_x86_64"
    )
    assert _theirs(wheel).outside == {"nonlimited.abi3.so": {"PyObject_CallOneArg"}}
