"""Failure isolation and bad input: a failing build, a missing interpreter and a broken
before-all each give their one-line error (and the log's last lines) while the other
identifiers' wheels are still written; bad input is one line and a documented exit code; the
wheelhouse never holds a partial or unrepaired wheel."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.build.conftest import (
    EXAMPLES,
    PROJECTS,
    assert_schema,
    need_pythons,
    run_build,
    tree_digest,
)


@pytest.mark.slow
@pytest.mark.network
def test_a_failing_build_and_a_missing_interpreter_leave_the_others(tmp_path: Path) -> None:
    need_pythons("3.10", "3.11")
    project = PROJECTS / "fails-on-310"
    before = tree_digest(project)
    wheelhouse = tmp_path / "wheelhouse"
    call = run_build(
        [
            str(project),
            "-w",
            str(wheelhouse),
            "--build",
            "cp310-manylinux_x86_64 cp311-manylinux_x86_64 cp312-manylinux_aarch64",
            "--json",
        ],
        log_dir=tmp_path / "logs",
    )
    assert call.code == 1, call.stderr
    builds = call.builds()
    assert builds["cp311-manylinux_x86_64"]["status"] == "built"
    failed = builds["cp310-manylinux_x86_64"]
    assert failed["status"] == "failed"
    assert failed["stage"] == "build"
    assert failed["error"] == "the PEP 517 build failed (exit status 1)"
    assert failed["wheel"] is None
    assert "refuses to build on Python 3.10" in Path(failed["log"]).read_text()
    missing = builds["cp312-manylinux_aarch64"]
    assert missing["status"] == "unavailable"
    assert missing["error"].startswith("no CPython 3.12 for aarch64 (glibc) found")
    # stderr: one line per failure, with the log's last lines under the build failure
    assert "failed cp310-manylinux_x86_64 in build: the PEP 517 build failed" in call.stderr
    assert "| fails-on-310: this project refuses to build on Python 3.10" in call.stderr
    assert "unavailable cp312-manylinux_aarch64: no CPython 3.12" in call.stderr
    assert [p.name for p in wheelhouse.iterdir()] == [builds["cp311-manylinux_x86_64"]["wheel"]]
    assert tree_digest(project) == before
    assert_schema(call)


@pytest.mark.slow
@pytest.mark.network
def test_a_broken_before_all_fails_its_target_and_writes_nothing(tmp_path: Path) -> None:
    need_pythons("3.11", "3.12")
    wheelhouse = tmp_path / "wheelhouse"
    call = run_build(
        [
            str(EXAMPLES / "demo"),
            "-w",
            str(wheelhouse),
            "--build",
            "cp311-manylinux_x86_64 cp312-manylinux_x86_64",
            "--before-all",
            "echo building libfoo; exit 3",
        ],
        log_dir=tmp_path / "logs",
    )
    assert call.code == 1
    assert call.stderr.count("in before-all: before-all exited with status 3") == 2
    assert "| building libfoo" in call.stderr
    assert list(wheelhouse.iterdir()) == []
    table = call.stdout.splitlines()
    assert table[0].split() == ["identifier", "wheel", "tag", "size", "seconds", "status"]
    assert "failed (before-all)" in table[1]
    assert table[-1].startswith("0 of 2 built into")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["{missing}"], 3, "no such project directory or sdist"),
        (["{empty}"], 3, "not a Python project: no pyproject.toml or setup.py"),
        (["{demo}", "-w", "/proc/manywheel-wheelhouse"], 3, "cannot write to the wheel directory"),
        (["{demo}", "--archs", "sparc"], 2, "unknown architecture 'sparc'"),
        (["{demo}", "--manylinux", "musllinux_1_2"], 2, "is not a manylinux policy"),
        (["{demo}", "--build", "cp311"], 2, "--build: not a build identifier: 'cp311'"),
        (["{demo}", "--build", "cp31[45]-*"], 2, "no build identifier selected"),
        (["{demo}", "--env", "docker"], 2, "unknown environment"),
        (["{demo}", "-j", "0"], 2, "--jobs must be at least 1"),
        (
            [
                "{demo}",
                "--repair-wheel-command",
                "auditwheel repair --bogus -w {{dest_dir}} {{wheel}}",
            ],
            2,
            "--repair-wheel-command: 'auditwheel repair --bogus -w {dest_dir} {wheel}': "
            "unrecognized arguments: --bogus",
        ),
        (["{demo}", "--enable", "pypi"], 2, "unknown enable group 'pypi'"),
        (["{demo}", "--upload", "-r", "nowhere", "--pypirc", "{missing}"], 2, "missing: no such"),
    ],
    ids=[
        "missing",
        "not-a-project",
        "wheelhouse",
        "arch",
        "policy",
        "literal",
        "none",
        "env",
        "jobs",
        "repair-command",
        "enable",
        "repository",
    ],
)
def test_bad_input_is_one_line_and_an_exit_code(
    args: list[str], code: int, message: str, tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    paths = {
        "missing": str(tmp_path / "missing"),
        "empty": str(tmp_path / "empty"),
        "demo": str(EXAMPLES / "demo"),
    }
    call = run_build(
        [a.format(**paths) for a in args] + ["-w", str(tmp_path / "wh")] * ("-w" not in args),
        log_dir=tmp_path / "logs",
    )
    assert call.code == code, call.stderr
    lines = call.stderr.strip().splitlines()
    assert len(lines) == 1, call.stderr
    assert lines[0].startswith("manywheel: error: ")
    assert message in lines[0]
    assert "Traceback" not in call.stderr
    assert not (tmp_path / "wh").exists() or list((tmp_path / "wh").iterdir()) == []


def test_print_build_identifiers(tmp_path: Path) -> None:
    need_pythons("3.11")
    call = run_build(
        [
            str(EXAMPLES / "demo"),
            "--print-build-identifiers",
            "--build",
            "cp311-manylinux_* cp37-*",
        ],
        log_dir=tmp_path / "logs",
    )
    assert call.code == 0
    # cp37 is excluded by the demo's requires-python (>=3.8) and is a wildcard match: left out
    assert call.stdout.splitlines() == ["cp311-manylinux_x86_64"]
