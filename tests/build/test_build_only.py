"""cibuildwheel's ``--only IDENTIFIER`` and ``build-verbosity`` (``CIBW_BUILD_VERBOSITY``): one
identifier built whatever the configured selectors say, and the frontend's verbosity passed as
cibuildwheel passes it (checked against cibuildwheel 4.3.5's own mapping), the build's output
shown as it is written from level 1 on — on a real project (projects/abi3-limited)."""

from __future__ import annotations

from pathlib import Path

import pytest

from manywheel.build.frontend import FRONTEND_PINS, Frontend, verbosity_flags
from tests.build.conftest import PROJECTS, assert_schema, need_pythons, run_build

PROJECT = PROJECTS / "abi3-limited"


@pytest.mark.slow
@pytest.mark.network
@pytest.mark.parametrize(
    ("level", "flag", "streamed"),
    [("2", "-v", True), ("-1", "-q", False)],
    ids=["verbose", "quiet"],
)
def test_only_builds_that_identifier_with_the_configured_verbosity(
    tmp_path: Path, level: str, flag: str, streamed: bool
) -> None:
    need_pythons("3.12")
    wheelhouse = tmp_path / "wheelhouse"
    # the configuration selects cp311 only and skips cp312: --only overrides both
    environ = {"CIBW_BUILD": "cp311-*", "CIBW_SKIP": "cp312-*", "CIBW_BUILD_VERBOSITY": level}
    call = run_build(
        [
            str(PROJECT),
            "-w",
            str(wheelhouse),
            "--env",
            "zig",
            "--only",
            "cp312-manylinux_x86_64",
            "--json",
        ],
        log_dir=tmp_path / "logs",
        environ=environ,
    )
    assert call.code == 0, call.stderr
    assert_schema(call)
    (build,) = call.document["builds"]
    assert build["identifier"] == "cp312-manylinux_x86_64"
    assert "CPython 3.12" in build["test"]["system"]
    assert [p.name for p in wheelhouse.iterdir()] == [build["wheel"]]
    log = Path(build["log"]).read_text()
    command = next(line for line in log.splitlines() if " --wheel " in line)
    assert f" --wheel {flag} --outdir " in command
    # the backend's own lines: pypa/build shows them unless quiet
    backend = "adding 'limited.abi3.so'"
    assert (backend in log) is streamed
    # streamed to stderr as written, each line with its identifier, from level 1 on
    assert (f"cp312-manylinux_x86_64 | {backend}" in call.stderr) is streamed
    assert ("cp312-manylinux_x86_64 | limited.answer() = 42" in call.stderr) is streamed


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["--only", "cp312-manylinux_x86_64", "--build", "*"],
            2,
            "--only cannot be combined with --build",
        ),
        (
            ["--only", "cp312-manylinux_x86_64", "--skip", "cp3*", "--archs", "x86_64"],
            2,
            "--only cannot be combined with --skip and --archs",
        ),
        (["--only", "cp312-*"], 2, "--only: not a build identifier: 'cp312-*'"),
        # requires-python (>=3.11) still applies, as in cibuildwheel
        (
            ["--only", "cp310-manylinux_x86_64"],
            1,
            "cannot build cp310-manylinux_x86_64 here: the project's requires-python (>=3.11) "
            "excludes it",
        ),
    ],
    ids=["with-build", "with-skip-archs", "pattern", "excluded"],
)
def test_only_errors_are_one_line(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    wheelhouse = tmp_path / "wheelhouse"
    call = run_build([str(PROJECT), "-w", str(wheelhouse), *args], log_dir=tmp_path / "logs")
    assert call.code == code, call.stderr
    (line,) = call.stderr.splitlines()
    assert line.startswith(f"manywheel: error: {message}")
    assert call.stdout == ""
    assert not wheelhouse.exists() or list(wheelhouse.iterdir()) == []


def test_only_ignores_the_configured_selection_and_groups(tmp_path: Path) -> None:
    """cp313t needs the cpython-freethreading group and is skipped by the configuration: --only
    asks for it all the same (whether this machine has a 3.13t is another question)."""
    environ = {"CIBW_SKIP": "cp313t-* *-manylinux_x86_64", "CIBW_ARCHS": "aarch64"}
    call = run_build(
        [str(PROJECT), "--only", "cp313t-manylinux_x86_64", "--print-build-identifiers"],
        log_dir=tmp_path / "logs",
        environ=environ,
    )
    assert (call.code, call.stdout) == (0, "cp313t-manylinux_x86_64\n"), call.stderr
    without = run_build(
        [str(PROJECT), "--print-build-identifiers"], log_dir=tmp_path / "logs", environ=environ
    )
    assert "cp313t-manylinux_x86_64" not in without.stdout


@pytest.mark.parametrize("frontend", ["build", "build[uv]"])
@pytest.mark.parametrize("level", range(-5, 6))
def test_verbosity_flags_are_cibuildwheels(level: int, frontend: str) -> None:
    theirs = pytest.importorskip("cibuildwheel.frontend", reason="cibuildwheel missing")
    clamped = min(3, max(-3, level))  # cibuildwheel clamps when it reads the option
    assert verbosity_flags(level) == theirs._get_verbosity_flags(clamped, frontend)


def test_only_pypa_build_from_1_3_is_quiet() -> None:
    """pypa/build 1.2.2.post1 (the pin for Python < 3.10) has no -q: it is left out there."""
    quiet = {key: Frontend(Path(), pins).quiet for key, pins in FRONTEND_PINS.items()}
    assert quiet == {"py38": False, "py310": True}
