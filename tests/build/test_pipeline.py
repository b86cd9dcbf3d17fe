"""The stages wired together through ``manywheel build``: a project configured only for
cibuildwheel builds and tests as it is; a wheel whose test fails is not uploaded, nor is
anything else of that run without ``--skip-failed``, and a re-run skips what the index has;
a wheel repaired with a library the clean root lacks fails its test there with the loader's
message. (The whole pipeline on the demo, for every CPython, is test_build_demo's.)"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from manywheel.build import engine_with_image
from tests.build.conftest import (
    EXAMPLES,
    PROJECTS,
    BuildCall,
    assert_schema,
    need_pythons,
    run_build,
    upload_args,
)
from tests.build.indexserver import IndexServer, pypiserver

pytestmark = [pytest.mark.slow, pytest.mark.network, pytest.mark.root]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    with pypiserver(tmp_path_factory.mktemp("pipeline-index")) as server:
        yield server


def test_a_cibuildwheel_project_builds_and_tests_unchanged(tmp_path: Path) -> None:
    """tests/build/projects/cibw-only has only [tool.cibuildwheel]: its build/skip select cp39
    and cp311 (manylinux), its before-all generates a header the builds include, its
    environment (a ``$(...)`` and an ``environment-pass`` variable) reaches the backend, its
    ``auditwheel repair`` command runs in-process, and its test-command, with test-requires,
    passes on the clean systems. ``manywheel build`` gets nothing else."""
    need_pythons("3.9", "3.11")
    call = run_build(
        [str(PROJECTS / "cibw-only"), "-w", str(tmp_path / "wh"), "--json"],
        log_dir=tmp_path / "logs",
        environ={"CIBWONLY_TOOL": "manywheel-tests"},
    )
    assert call.code == 0, call.stderr
    if engine_with_image("quay.io/pypa/manylinux2014_x86_64", environ=os.environ) is None:
        assert call.document["environment"] == "zig"  # the default, auto, without an image
    builds = call.builds()
    assert sorted(builds) == ["cp311-manylinux_x86_64", "cp39-manylinux_x86_64"]
    for identifier, build in builds.items():
        assert build["status"] == "built", build
        assert build["test"]["status"] == "passed"
        assert build["test"]["output"][-1].startswith("cibwonly 42 built-by-manywheel-tests six")
        log = Path(build["log"]).read_text()
        assert "manywheel: repairing" in log, identifier  # auditwheel's command, in-process
        assert "repair-wheel-command:" not in log
    assert builds["cp39-manylinux_x86_64"]["test"]["system"].startswith("Debian bullseye")
    assert sorted(p.name for p in (tmp_path / "wh").iterdir()) == sorted(
        b["wheel"] for b in builds.values()
    )
    assert_schema(call)


#: The demo's configuration with cp311's test overridden to fail (read with --config-file).
FAILS_ON_311 = """
[tool.manywheel]
before-all = "./build-libdemo.sh"
test-command = "python -c 'import demo; print(demo.greeting())'"

[[tool.manywheel.overrides]]
select = "cp311-*"
test-command = "python -c 'import demo, sys; print(demo.greeting()); sys.exit(3)'"
"""


def test_a_failing_test_holds_back_every_upload_and_a_rerun_skips_what_is_there(
    tmp_path: Path, index: IndexServer
) -> None:
    """cp311's test fails (an override of its test-command, in a file given with
    --config-file): its wheel is not in the wheelhouse (it is kept with the logs) and is named
    in the summary with its output's last lines. Without --skip-failed nothing of the run is
    uploaded (exit 1); with it cp39's wheel is; run again, the index has it: skipped."""
    need_pythons("3.9", "3.11")
    config = tmp_path / "manywheel.toml"
    config.write_text(FAILS_ON_311, encoding="utf-8")

    def build(name: str, *extra: str) -> BuildCall:
        return run_build(
            [
                str(EXAMPLES / "demo"), "-w", str(tmp_path / name), "--env", "zig",
                "--build", "cp39-manylinux_x86_64 cp311-manylinux_x86_64",
                "--config-file", str(config), *upload_args(index), *extra,
            ],
            log_dir=tmp_path / "logs",
        )  # fmt: skip

    held = build("held")
    assert held.code == 1, held.stderr
    assert index.files() == []
    lines = held.stdout.splitlines()
    assert lines[0].split() == [
        "identifier", "wheel", "tag", "size", "seconds", "test", "upload", "status"
    ]  # fmt: skip
    cp39, cp311 = lines[1], lines[2]
    assert cp39.startswith("cp39-") and cp39.endswith("passed  held back  built"), cp39
    assert cp311.startswith("cp311-") and cp311.split()[-4:] == ["failed", "-", "failed", "(test)"]
    failure = "cp311-manylinux_x86_64 in test: the test failed on Debian bookworm amd64, "
    at = next(i for i, line in enumerate(lines) if line.startswith(failure))
    assert lines[at].endswith("(exit status 3)")
    assert lines[at + 1].startswith("    | hello from libdemo")  # the test's output, last lines
    kept = next(line for line in lines if "wheel kept at" in line).split(" at ", 1)[1]
    assert Path(kept).is_file()
    assert [p.name.split("-")[2] for p in (tmp_path / "held").iterdir()] == ["cp39"]
    assert "nothing uploaded: --skip-failed uploads the wheels that pass" in held.stderr

    skipping = build("skip-failed", "--skip-failed")
    assert skipping.code == 1, skipping.stderr
    assert [name.split("-")[2] for name in index.files()] == ["cp39"]
    assert "  uploaded  built" in skipping.stdout.splitlines()[1]

    again = build("again", "--skip-failed", "--json")
    assert again.code == 1, again.stderr
    cp39_build = again.builds()["cp39-manylinux_x86_64"]
    # the rebuild is not byte for byte the first build: the index's file stays, named
    assert cp39_build["upload"]["outcome"] == "exists"
    assert "not replaced" in cp39_build["upload"]["detail"]
    assert again.document["upload"]["exists"] == 1
    assert again.document["upload"]["uploaded"] == 0
    assert [name.split("-")[2] for name in index.files()] == ["cp39"]
    assert_schema(again)


def test_a_library_the_clean_root_lacks_fails_the_test_with_the_loaders_message(
    tmp_path: Path,
) -> None:
    """The demo repaired with libdemo excluded (``--exclude``, as for a library the target
    system is supposed to provide): the repair and the static checks let it through, the clean
    bullseye root's loader does not."""
    need_pythons("3.9")
    call = run_build(
        [
            str(EXAMPLES / "demo"), "-w", str(tmp_path / "wh"), "--env", "zig",
            "--build", "cp39-manylinux_x86_64", "--exclude", "libdemo.so.1", "--json",
        ],
        log_dir=tmp_path / "logs",
    )  # fmt: skip
    assert call.code == 1, call.stderr
    build = call.builds()["cp39-manylinux_x86_64"]
    assert (build["status"], build["stage"]) == ("failed", "test")
    assert build["error"].startswith("the test failed on Debian bullseye amd64, CPython 3.9")
    assert build["test"]["status"] == "failed"
    loader = "libdemo.so.1: cannot open shared object file: No such file or directory"
    assert any(loader in line for line in build["test"]["output"]), build["test"]["output"]
    assert any(loader in line for line in build["log_tail"])
    assert Path(build["kept_wheel"]).is_file()
    assert list((tmp_path / "wh").iterdir()) == []
    assert_schema(call)
