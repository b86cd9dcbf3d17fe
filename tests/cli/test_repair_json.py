"""``repair --json`` with several wheels when one fails: the wheels already written are reported
with the one that failed (its error and exit code) and those never tried; the exit code and the
stderr line are those of the failure."""

from __future__ import annotations

import errno
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

import manywheel
from manywheel.cli import main
from manywheel.cli.context import Context
from manywheel.cli.exit_codes import ISSUES_URL, Terminated
from manywheel.cli.main import _report
from manywheel.cli.repair_command import repair_failure
from manywheel.errors import (
    InputError,
    ManywheelError,
    NotPlatformWheelError,
    ToolError,
)
from manywheel.report import repair_json
from tests.repair.natives import Natives, gcc


@pytest.fixture(scope="module")
def good(natives: Natives) -> Path:
    ext = natives.extension("jsongood", "foo(1);", ["-lfoo"], body="int foo(int);")
    return natives.wheel("jsongood", {"jsongood.so": ext})


@pytest.fixture(scope="module")
def unfindable(natives: Natives, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Links libgone.so.1, which lives in a directory no search reaches."""
    gone = tmp_path_factory.mktemp("gone")
    (gone / "gone.c").write_text("int gone(void) { return 1; }\n")
    gcc(["-shared", "-fPIC", "-Wl,-soname,libgone.so.1", "-o", str(gone / "libgone.so.1"),
         str(gone / "gone.c")])  # fmt: skip
    (gone / "libgone.so").symlink_to("libgone.so.1")
    ext = natives.extension("jsonbad", "gone();", [f"-L{gone}", "-lgone"], body="int gone(void);")
    return natives.wheel("jsonbad", {"jsonbad.so": ext})


@pytest.fixture(scope="module")
def later(natives: Natives) -> Path:
    return natives.wheel("jsonlater", {"jsonlater.so": natives.extension("jsonlater", "", [])})


def _run(argv: list[str], natives: Natives) -> tuple[int, dict[str, Any], str]:
    out, err = io.StringIO(), io.StringIO()
    env = {"AUDITWHEEL_LD_LIBRARY_PATH": str(natives.libdir)}
    code = main(["repair", "--json", *argv], stdout=out, stderr=err, environ=env)
    return code, json.loads(out.getvalue()), err.getvalue()


def test_success_reports_no_failure(good: Path, natives: Natives, tmp_path: Path) -> None:
    code, doc, err = _run(["-w", str(tmp_path), str(good)], natives)
    assert (code, err) == (0, "")
    assert doc["schema_version"] == 1 and doc["failed"] is None and doc["not_attempted"] == []
    assert [w["input"] for w in doc["wheels"]] == [str(good)]


def test_a_later_failure_reports_what_was_written_and_what_failed(
    good: Path, unfindable: Path, later: Path, natives: Natives, tmp_path: Path
) -> None:
    out_dir = tmp_path / "w"
    code, doc, err = _run(["-w", str(out_dir), str(good), str(unfindable), str(later)], natives)
    assert code == 2
    assert err.count("\n") == 1 and "libgone.so.1" in err and "Traceback" not in err
    (made,) = out_dir.glob("*.whl")  # the first wheel stays written; nothing for the others
    assert doc["schema_version"] == 1
    (written,) = doc["wheels"]
    assert written["input"] == str(good) and written["output"] == str(made)
    assert {tuple(g["sonames"]) for g in written["grafted"]} == {("libfoo.so.1",), ("libbar.so.1",)}
    failed = doc["failed"]
    assert failed["input"] == str(unfindable) and failed["exit_code"] == 2
    assert "libgone.so.1" in failed["error"] and err == f"manywheel: {failed['error']}\n"
    assert doc["not_attempted"] == [str(later)]


def test_a_missing_input_is_reported_with_its_exit_code(
    good: Path, natives: Natives, tmp_path: Path
) -> None:
    missing = tmp_path / "nope-1.0-cp311-cp311-linux_x86_64.whl"
    code, doc, err = _run(["-w", str(tmp_path / "w"), str(good), str(missing)], natives)
    assert code == 3 and str(missing) in err
    assert [w["input"] for w in doc["wheels"]] == [str(good)]
    assert doc["failed"] == {
        "input": str(missing),
        "error": f"error: {missing}: No such file or directory",
        "exit_code": 3,
    }
    assert doc["not_attempted"] == []


def test_the_first_wheel_failing_gives_an_empty_list(
    unfindable: Path, good: Path, natives: Natives, tmp_path: Path
) -> None:
    code, doc, _ = _run(["-w", str(tmp_path / "w"), str(unfindable), str(good)], natives)
    assert code == 2 and doc["wheels"] == []
    assert doc["failed"]["input"] == str(unfindable) and doc["not_attempted"] == [str(good)]
    assert list((tmp_path / "w").iterdir()) == []


def test_sbom_is_reported(good: Path, natives: Natives, tmp_path: Path) -> None:
    ext = natives.extension(
        "jsonffi", "(void)&ffi_type_sint;", ["-lffi"], body="#include <ffi.h>",
        extra=["-Wl,--no-as-needed"],
    )  # fmt: skip
    ffi = natives.wheel("jsonffi", {"jsonffi.so": ext})
    code, doc, err = _run(["-w", str(tmp_path), str(good), str(ffi)], natives)
    assert (code, err) == (0, "")
    no_sbom, with_sbom = doc["wheels"]
    assert no_sbom["sbom"] is None
    (graft,) = with_sbom["grafted"]
    assert with_sbom["sbom"]["member"] == "jsonffi-1.0.dist-info/sboms/auditwheel.cdx.json"
    (package,) = with_sbom["sbom"]["packages"]
    assert package["source"] == graft["source"]
    assert package["purl"].startswith("pkg:deb/") and "/libffi8@" in package["purl"]
    with zipfile.ZipFile(with_sbom["output"]) as z:  # the tool is the version --version prints
        sbom = json.loads(z.read(with_sbom["sbom"]["member"]))
    assert sbom["metadata"]["tools"] == [{"name": "manywheel", "version": manywheel.__version__}]


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (NotPlatformWheelError("not a platform wheel", path="a.whl"), 1),
        (ManywheelError("AUDITWHEEL_PLAT='x' is not a policy"), 2),
        (InputError("bad wheel", path="a.whl", member="m.so"), 3),
        (FileNotFoundError(2, "No such file", "a.whl"), 3),
        (ToolError("patchelf failed", path="m.so"), 4),
        (OSError(errno.ENOSPC, "No space left on device", "w/x.whl"), 3),
        (OSError(errno.EROFS, "Read-only file system", "w/x.whl"), 3),
        (RuntimeError("boom"), 70),
        (KeyboardInterrupt(), 130),
        (Terminated(), 143),
    ],
    ids=[
        "findings",
        "usage",
        "input",
        "missing",
        "tool",
        "full",
        "read-only",
        "internal",
        "interrupted",
        "terminated",
    ],
)
def test_the_json_error_is_the_stderr_line(error: BaseException, code: int) -> None:
    """For every exit code, ``failed.error`` is the stderr line's text (after ``manywheel: ``):
    one function makes both."""
    err = io.StringIO()
    ctx = Context(stdout=io.StringIO(), stderr=err, environ={}, verbosity=0, color=False)
    assert _report(error, ctx) == code
    failed = repair_json([], failed=repair_failure(Path("a.whl"), error))["failed"]
    assert err.getvalue() == f"manywheel: {failed['error']}\n"
    assert failed["exit_code"] == code
    if code == 70:
        assert failed["error"] == (
            "internal error: RuntimeError: boom (run again with -vv for a traceback and "
            f"please report it at {ISSUES_URL})"
        )


INTERRUPTING_PATCHER = """#!/bin/sh
# Ctrl-C while this wheel is being patched: SIGINT to manywheel, as the terminal sends it.
kill -INT $PPID
sleep 1
exit 1
"""


def test_ctrl_c_still_prints_the_document(
    good: Path, later: Path, unfindable: Path, natives: Natives, tmp_path: Path
) -> None:
    """Interrupted during the second wheel: the first stays written and is reported, the
    interrupted one is ``failed`` (exit 130), the third never tried."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "lief-patchelf").write_text(INTERRUPTING_PATCHER)
    (bin_dir / "lief-patchelf").chmod(0o755)
    out, err = io.StringIO(), io.StringIO()
    env = {"AUDITWHEEL_LD_LIBRARY_PATH": str(natives.libdir), "PATH": f"{bin_dir}:/usr/bin:/bin"}
    argv = ["repair", "--json", "--patcher", "lief-patchelf", "-w", str(tmp_path / "w")]
    wheels = [str(later), str(good), str(unfindable)]
    code = main([*argv, *wheels], stdout=out, stderr=err, environ=env)
    assert (code, err.getvalue()) == (130, "manywheel: interrupted\n")
    doc = json.loads(out.getvalue())
    (written,) = doc["wheels"]
    assert written["input"] == str(later) and Path(written["output"]).is_file()
    assert doc["failed"] == {"input": str(good), "error": "interrupted", "exit_code": 130}
    assert doc["not_attempted"] == [str(unfindable)]
    assert [p.name for p in (tmp_path / "w").iterdir()] == [Path(written["output"]).name]
