"""The Python-tag verdict on modules built here against real CPython headers (see abi_fixtures)
and on a real free-threaded wheel (MarkupSafe 3.0.2, cp313t, from the package index): each
problem found where the module breaks the tag's promise, and none where it keeps it; and the
verdict where users meet it: ``show`` (text and --json-details) and ``repair``."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from manywheel.audit import audit_wheel
from manywheel.cli import main
from manywheel.repair import (
    PatchelfPatcher,
    PythonAbiError,
    RepairOptions,
    RepairRequest,
    repair_wheel,
)
from tests.audit.abi_fixtures import AbiModules, build_abi_modules, module_wheel
from tests.harness.availability import Unavailable, skip_or_fail
from tests.harness.cache import HarnessCache
from tests.harness.extensions import write_wheel

X86 = "x86_64-linux-gnu"

#: (id, module, file name, wheel tag, expected problem kinds, Stable ABI version needed)
CASES = [
    ("limited37-cp37-abi3", "limited37", "limited37.abi3.so", "cp37-abi3", set(), "3.2"),
    ("limited310-cp310-abi3", "limited310", "limited310.abi3.so", "cp310-abi3", set(), "3.10"),
    ("limited312-cp312-abi3", "limited312", "limited312.abi3.so", "cp312-abi3", set(), "3.12"),
    ("limited312-as-cp38", "limited312", "limited312.abi3.so", "cp38-abi3",
     {"newer-than-tag"}, "3.12"),
    ("nonlimited-cp38-abi3", "nonlimited", "nonlimited.abi3.so", "cp38-abi3",
     {"not-in-stable-abi"}, "3.2"),
    ("versioned-suffix-in-abi3", "limited37", f"limited37.cpython-311-{X86}.so", "cp37-abi3",
     {"wrong-suffix"}, "3.2"),
    ("plain-so-in-abi3", "limited37", "limited37.so", "cp37-abi3", set(), "3.2"),
    ("abi3-in-cp311", "limited37", "limited37.abi3.so", "cp311-cp311", set(), None),
    ("gil314-cp314", "gil314", f"gil314.cpython-314-{X86}.so", "cp314-cp314", set(), None),
    ("ft314-cp314t", "ft314", f"ft314.cpython-314t-{X86}.so", "cp314-cp314t", set(), None),
    ("ft314-in-gil-wheel", "ft314", f"ft314.cpython-314-{X86}.so", "cp314-cp314",
     {"free-threaded-build"}, None),
    ("gil314-in-ft-wheel", "gil314", f"gil314.cpython-314-{X86}.so", "cp314-cp314t",
     {"wrong-suffix", "gil-build"}, None),
    ("gil314-named-ft", "gil314", f"gil314.cpython-314t-{X86}.so", "cp314-cp314t",
     {"gil-build"}, None),
    ("abi3-in-ft-wheel", "limited37", "limited37.abi3.so", "cp314-cp314t", {"gil-build"}, None),
    ("abi3t315-abi3.abi3t", "abi3t315", "abi3t315.abi3t.so", "cp315-abi3.abi3t", set(), "3.2"),
    ("abi3t315-abi3t", "abi3t315", "abi3t315.abi3t.so", "cp315-abi3t", set(), "3.2"),
    ("abi3t-named-abi3", "abi3t315", "abi3t315.abi3.so", "cp315-abi3.abi3t",
     {"wrong-suffix"}, "3.2"),
    ("gil-abi3-as-abi3t", "gilabi315", "gilabi315.abi3t.so", "cp315-abi3t", {"gil-build"}, "3.10"),
    ("ft314-as-abi3", "ft314", "ft314.abi3.so", "cp314-abi3",
     {"free-threaded-build"}, "3.2"),
]  # fmt: skip


@pytest.fixture(scope="module")
def modules(tmp_path_factory: pytest.TempPathFactory) -> AbiModules:
    try:
        return build_abi_modules(tmp_path_factory.mktemp("abi-modules"))
    except Unavailable as e:
        skip_or_fail(str(e))


@pytest.mark.parametrize(
    ("module", "filename", "tag", "kinds", "needed"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_verdict_on_real_modules(  # noqa: PLR0917 (fixtures and parameters)
    modules: AbiModules,
    tmp_path: Path,
    module: str,
    filename: str,
    tag: str,
    kinds: set[str],
    needed: str | None,
) -> None:
    wheel = module_wheel(modules, tmp_path, module, filename, f"{tag}-linux_x86_64")
    verdict = audit_wheel(wheel).python_abi
    assert verdict is not None
    assert {p.kind.value for p in verdict.problems} == kinds, verdict.problems
    assert verdict.ok is (not kinds)
    got = None if verdict.needed is None else f"{verdict.needed[0]}.{verdict.needed[1]}"
    assert got == needed
    assert all(p.member == f"{module}/{filename}" for p in verdict.problems)


def test_baseline_too_old_names_symbols_versions_and_the_honest_tag(
    modules: AbiModules, tmp_path: Path
) -> None:
    wheel = module_wheel(
        modules, tmp_path, "limited312", "limited312.abi3.so", "cp38-abi3-linux_x86_64"
    )
    verdict = audit_wheel(wheel).python_abi
    assert verdict is not None
    found = {(p.version, p.symbols) for p in verdict.problems}
    # _Py_DecRef: Py_DECREF of the 3.12 limited API (abi-only, 3.10); PyObject_Vectorcall: 3.12
    assert found == {("3.10", ("_Py_DecRef",)), ("3.12", ("PyObject_Vectorcall",))}
    assert verdict.honest_tags == ("cp312-abi3",)
    assert verdict.baseline == (3, 8)


def test_non_limited_symbol_is_named_never(modules: AbiModules, tmp_path: Path) -> None:
    wheel = module_wheel(
        modules, tmp_path, "nonlimited", "nonlimited.abi3.so", "cp38-abi3-linux_x86_64"
    )
    verdict = audit_wheel(wheel).python_abi
    assert verdict is not None
    (problem,) = verdict.problems
    assert (problem.symbols, problem.version) == (("PyObject_CallOneArg",), "never")


def test_abi3t_module_without_pyinit_is_an_extension(modules: AbiModules, tmp_path: Path) -> None:
    """PEP 793: an abi3t module may define PyModExport_<name> alone."""
    wheel = module_wheel(
        modules, tmp_path, "abi3t315", "abi3t315.abi3t.so", "cp315-abi3.abi3t-linux_x86_64"
    )
    report = audit_wheel(wheel)
    (member,) = report.members
    assert member.role.value == "extension"
    assert member.extension is not None and member.extension.init_symbol == "PyModExport_abi3t315"
    assert report.python_abi is not None and report.python_abi.tags == (
        "cp315-abi3",
        "cp315-abi3t",
    )


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdout=out, stderr=err, environ={})
    return code, out.getvalue(), err.getvalue()


def test_show_keeps_the_python_verdict_apart(modules: AbiModules, tmp_path: Path) -> None:
    wheel = module_wheel(
        modules, tmp_path, "nonlimited", "nonlimited.abi3.so", "cp38-abi3-linux_x86_64"
    )
    code, text, _ = _run(["show", str(wheel)])
    assert code == 0
    assert "Python tag cp38-abi3: broken" in text
    assert "not-in-stable-abi: nonlimited/nonlimited.abi3.so uses PyObject_CallOneArg" in text
    code, document, _ = _run(["show", "--json-details", str(wheel)])
    entry = json.loads(document)["wheels"][0]
    abi = entry["python_abi"]
    assert (abi["ok"], abi["baseline"], abi["tags"]) == (False, "3.8", ["cp38-abi3"])
    assert abi["problems"][0]["symbols"] == ["PyObject_CallOneArg"]
    # the platform verdict is judged on its own: this module's libc needs are fine
    assert entry["after_repair"]["tag"].startswith("manylinux_")
    code, line, _ = _run(["show", "--json", str(wheel)])
    assert "python_abi" not in json.loads(line)  # auditwheel's schema-1 document is unchanged


def test_repair_refuses_a_broken_abi3_wheel_unless_told(
    modules: AbiModules, patcher: PatchelfPatcher, tmp_path: Path
) -> None:
    wheel = module_wheel(
        modules, tmp_path / "in", "limited312", "limited312.abi3.so", "cp38-abi3-linux_x86_64"
    )
    out = tmp_path / "out"
    with pytest.raises(PythonAbiError, match=r"could claim cp312-abi3"):
        repair_wheel(wheel, out, RepairRequest(patcher=patcher))
    assert not list(out.glob("*.whl"))
    code, _, err = _run(["repair", "-w", str(out), str(wheel)])
    assert code == 2 and "--no-abi-check" in err and not list(out.glob("*.whl"))
    result = repair_wheel(
        wheel, out, RepairRequest(patcher=patcher, options=RepairOptions(abi_check=False))
    )
    assert any("PyObject_Vectorcall" in w for w in result.warnings)
    with zipfile.ZipFile(result.output) as z:
        assert "limited312/limited312.abi3.so" in z.namelist()


MARKUPSAFE_FT = "markupsafe==3.0.2"


def _free_threaded_wheel() -> Path:
    """MarkupSafe's real cp313t wheel from the package index (cached; skips without it)."""
    directory = HarnessCache.default().wheels
    found = sorted(directory.glob("[Mm]ark[Uu]p[Ss]afe-3.0.2-cp313-cp313t-manylinux*x86_64*.whl"))
    if not found:
        directory.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
            "--python-version", "3.13", "--implementation", "cp", "--abi", "cp313t",
            "--platform", "manylinux_2_17_x86_64", "--platform", "manylinux2014_x86_64",
            MARKUPSAFE_FT, "-d", str(directory),
        ]  # fmt: skip
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600)
        found = sorted(directory.glob("[Mm]ark[Uu]p[Ss]afe-3.0.2-cp313-cp313t-*.whl"))
        if not found:
            pytest.skip(f"cannot download {MARKUPSAFE_FT} (cp313t): {done.stderr[-300:]}")
    return found[0]


@pytest.mark.network
def test_real_free_threaded_wheel_and_its_mislabelled_twin(tmp_path: Path) -> None:
    """A real cp313t wheel passes; its module relabelled for the GIL-enabled build is caught by
    the symbol only the free-threaded build has (PyUnstable_Module_SetGIL)."""
    real = _free_threaded_wheel()
    verdict = audit_wheel(real).python_abi
    assert verdict is not None and verdict.ok
    assert verdict.members == ("markupsafe/_speedups.cpython-313t-x86_64-linux-gnu.so",)
    with zipfile.ZipFile(real) as z:
        module = z.read(verdict.members[0])
    twin = write_wheel(
        tmp_path,
        "markupsafe",
        "3.0.2",
        "cp313-cp313-linux_x86_64",
        {f"markupsafe/_speedups.cpython-313-{X86}.so": module},
    )
    relabelled = audit_wheel(twin).python_abi
    assert relabelled is not None
    (problem,) = relabelled.problems
    assert problem.kind.value == "free-threaded-build"
    assert problem.symbols == ("PyUnstable_Module_SetGIL",)
