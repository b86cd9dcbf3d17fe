"""abi3 wheels reused as cibuildwheel reuses them: a project on the Stable ABI
(projects/abi3-limited, ``cp311-abi3``) is built once for cp311..cp313 and the later identifiers
only test that wheel with their own Python — whatever ``--jobs`` says — and the rule that decides
it is cibuildwheel's own ``find_compatible_wheel``, checked against cibuildwheel 4.3.5."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from manywheel.build.check import CheckResult
from manywheel.build.credentials import Repository
from manywheel.build.identifiers import BuildIdentifier
from manywheel.build.publishing import UploadSettings, publish
from manywheel.build.results import BuildOutcome, Status
from manywheel.build.reuse import compatible_wheel
from tests.build.conftest import PROJECTS, assert_schema, need_pythons, run_build, tree_digest

IDS = ("cp311-manylinux_x86_64", "cp312-manylinux_x86_64", "cp313-manylinux_x86_64")


@pytest.mark.slow
@pytest.mark.network
@pytest.mark.parametrize("jobs", ["2", "1"], ids=["two-jobs", "one-job"])
def test_an_abi3_wheel_is_built_once_and_tested_on_every_later_python(
    tmp_path: Path, jobs: str
) -> None:
    need_pythons("3.11", "3.12", "3.13")
    project = PROJECTS / "abi3-limited"
    before = tree_digest(project)
    wheelhouse = tmp_path / "wheelhouse"
    args = [str(project), "-w", str(wheelhouse), "--env", "zig", "--build", " ".join(IDS)]
    call = run_build([*args, "-j", jobs, "--json"], log_dir=tmp_path / "logs")
    assert call.code == 1, call.stderr  # cp313's test refuses 3.13 on purpose
    assert_schema(call)
    builds = call.builds()
    first, second, third = (builds[i] for i in IDS)
    # built once: cp311's wheel is the only one, and cp312 and cp313 name it
    assert first["status"] == "built"
    assert first["reused_from"] is None
    assert first["built_wheel"] == "abi3_limited-1.0-cp311-abi3-linux_x86_64.whl"
    name = first["wheel"]
    assert name.startswith("abi3_limited-1.0-cp311-abi3-manylinux")
    assert [p.name for p in wheelhouse.iterdir()] == [name]
    assert second["status"] == "built"
    assert second["reused_from"] == IDS[0]
    assert (second["wheel"], second["path"], second["built_wheel"]) == (name, first["path"], None)
    assert second["tag"] == first["tag"]
    # ... and tested with each identifier's own Python
    assert "CPython 3.11" in first["test"]["system"]
    assert "CPython 3.12" in second["test"]["system"]
    assert "limited.answer() = 42 on Python 3.12" in second["test"]["output"]
    # a failing test on a later Python fails that identifier, as any failed test
    assert third["status"] == "failed"
    assert (third["stage"], third["reused_from"], third["wheel"]) == ("test", IDS[0], None)
    assert third["error"].endswith(f"({IDS[0]}'s wheel, reused)")
    assert "abi3-limited: this test refuses Python 3.13" in third["log_tail"]
    assert "CPython 3.13" in third["test"]["system"]
    # nothing built for the later ones: their logs say so (with -j2, cp312 may have built
    # meanwhile, and discarded it; its wheel never reached the wheelhouse)
    log = Path(third["log"]).read_text()
    assert f"{name}, built by {IDS[0]}, is compatible: not built again" in log
    assert "built meanwhile" not in log or jobs == "2"
    if jobs == "1":
        assert "--wheel" not in Path(second["log"]).read_text()
    assert tree_digest(project) == before


@pytest.mark.slow
@pytest.mark.network
def test_the_summary_says_which_identifier_reused_which_wheel(tmp_path: Path) -> None:
    need_pythons("3.11", "3.12")
    project = PROJECTS / "abi3-limited"
    wheelhouse = tmp_path / "wheelhouse"
    call = run_build(
        [str(project), "-w", str(wheelhouse), "--env", "zig", "--build", " ".join(IDS[:2])],
        log_dir=tmp_path / "logs",
    )
    assert call.code == 0, call.stderr
    (wheel,) = wheelhouse.iterdir()
    rows = {line.split()[0]: line for line in call.stdout.splitlines() if line.startswith("cp")}
    assert rows[IDS[1]].endswith(f"built, reused {IDS[0]}'s wheel")
    assert wheel.name in rows[IDS[1]]
    assert re.search(rf"reused {IDS[1]}: {re.escape(wheel.name)} .*the wheel of {IDS[0]}",
                     call.stderr)  # fmt: skip


#: Wheel names across the rule's branches: abi3 (older, same, newer baseline), a CPython-specific
#: wheel, py3-none and py3Y-none, another architecture, musllinux, a bare linux tag, compressed
#: tag sets, PyPy's own tags.
WHEELS = (
    "a-1-cp38-abi3-manylinux_2_17_x86_64.whl",
    "a-1-cp312-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "a-1-cp313-abi3-manylinux_2_28_x86_64.whl",
    "a-1-cp312-cp312-manylinux_2_17_x86_64.whl",
    "a-1-py3-none-manylinux_2_17_x86_64.whl",
    "a-1-py311-none-manylinux_2_17_x86_64.whl",
    "a-1-cp311-abi3-manylinux_2_17_aarch64.whl",
    "a-1-cp311-abi3-musllinux_1_2_x86_64.whl",
    "a-1-cp311-abi3-linux_x86_64.whl",
    "a-1-cp37.cp38-abi3-manylinux1_x86_64.whl",
    "a-1-pp310-pypy310_pp73-manylinux_2_17_x86_64.whl",
    "a-1-py2.py3-none-musllinux_1_1_aarch64.whl",
)

IDENTIFIERS = (
    "cp38-manylinux_x86_64",
    "cp311-manylinux_x86_64",
    "cp312-manylinux_x86_64",
    "cp313-manylinux_x86_64",
    "cp313t-manylinux_x86_64",
    "cp314t-manylinux_x86_64",
    "cp311-manylinux_aarch64",
    "cp312-musllinux_x86_64",
    "cp312-musllinux_aarch64",
    "pp310-manylinux_x86_64",
)


@pytest.mark.parametrize("identifier", IDENTIFIERS)
@pytest.mark.parametrize("wheel", WHEELS)
def test_the_rule_is_cibuildwheels_find_compatible_wheel(wheel: str, identifier: str) -> None:
    theirs = pytest.importorskip("cibuildwheel.util.packaging", reason="cibuildwheel missing")
    expected = theirs.find_compatible_wheel([Path(wheel)], identifier)
    assert compatible_wheel([Path(wheel)], BuildIdentifier.parse(identifier)) == expected


def test_the_first_compatible_wheel_in_build_order_is_reused() -> None:
    wheels = [Path(WHEELS[3]), Path(WHEELS[1]), Path(WHEELS[0])]
    identifier = BuildIdentifier.parse("cp313-manylinux_x86_64")
    assert compatible_wheel(wheels, identifier) == Path(WHEELS[1])
    assert compatible_wheel(wheels, BuildIdentifier.parse("cp313t-manylinux_x86_64")) is None


def test_a_wheel_a_later_python_failed_with_is_never_uploaded(tmp_path: Path) -> None:
    """``--skip-failed`` uploads the wheels that passed, but not one a reusing identifier's
    test refused: it is proven on the Python that built it, not on every one its tag claims."""
    wheel = tmp_path / "a-1-cp311-abi3-manylinux_2_17_x86_64.whl"
    wheel.write_bytes(b"not tried")
    first, second = (BuildIdentifier.parse(i) for i in IDS[:2])
    built = BuildOutcome(first, Status.BUILT, wheel=wheel, check=CheckResult(str(wheel)))
    failed = BuildOutcome(second, Status.FAILED, reused_from=first)
    # nothing listens on port 9 of loopback: a wheel that is tried fails at once
    settings = UploadSettings(Repository("http://127.0.0.1:9/"), skip_failed=True, timeout=5)
    report, error = publish([built, failed], settings)
    assert (report.wheels, error) == ((), None)
    tried, error = publish([built], settings)  # the same wheel with nobody failing it
    assert [w.path for w in tried.wheels] == [str(wheel)]
    assert error is not None
