"""``manywheel check``: one line per problem, ``--json`` (schema version 1, docs/check-json.md),
``--strict``, exit codes 0 / 1 / 3."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from manywheel.cli import main
from tests.build.wheels import THREADS, extension_wheel, host_python, metadata_text, pure_wheel

DOCS = Path(__file__).resolve().parents[2] / "docs" / "check-json.md"


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["check", *argv], stdout=out, stderr=err, environ={})
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    python = host_python()
    directory = tmp_path_factory.mktemp("check-command")
    return {
        "good": extension_wheel(directory, python, "mwcligood", "manylinux2014_x86_64"),
        "threads": extension_wheel(
            directory, python, "mwclithreads", "manylinux1_x86_64", code=THREADS
        ),
        "warned": pure_wheel(
            directory / "pure", "mwwarned", metadata_text("mwwarned", "1.0", description="")
        ),
    }


def test_passing_wheel(wheels: dict[str, Path]) -> None:
    assert _run(str(wheels["good"])) == (0, f"{wheels['good']}: OK\n", "")


def test_one_line_per_problem_exit_1(wheels: dict[str, Path]) -> None:
    code, out, err = _run(str(wheels["good"]), str(wheels["threads"]))
    assert (code, err) == (1, "")
    lines = out.splitlines()
    assert lines[0] == f"{wheels['good']}: OK"
    assert lines[1].startswith(
        f"{wheels['threads']}: tag: manylinux1_x86_64: mwclithreads.cpython-311-x86_64-linux-gnu"
        ".so needs GLIBC_2.34 from libc.so.6 (for pthread_create"
    )
    assert len(lines) == 2


def test_warnings_and_strict(wheels: dict[str, Path]) -> None:
    path = wheels["warned"]
    warning = (
        f"{path}: warning: no Description-Content-Type: the description is read as text/x-rst\n"
        f"{path}: warning: no long description (the project page will be empty)"
    )
    assert _run(str(path)) == (0, f"{warning}\n{path}: OK\n", "")
    assert _run("--strict", str(path)) == (1, f"{warning}\n", "")


def test_unreadable_wheel_exit_3_after_the_others(wheels: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad-1.0-py3-none-any.whl"
    bad.write_bytes(b"not a zip")
    code, out, err = _run(
        str(bad), str(wheels["good"]), str(tmp_path / "gone-1.0-py3-none-any.whl")
    )
    assert code == 3
    assert out == f"{wheels['good']}: OK\n"
    lines = err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"manywheel: error: {bad}")
    assert lines[1].startswith("manywheel: error: ") and "gone-1.0-py3-none-any.whl" in lines[1]


def test_json_document(wheels: dict[str, Path]) -> None:
    code, out, err = _run("--json", str(wheels["threads"]), str(wheels["good"]))
    assert (code, err) == (1, "")
    document = json.loads(out)
    assert document["schema_version"] == 1
    assert document["strict"] is False
    bad, good = document["wheels"]
    assert bad["ok"] is False
    assert bad["wheel"] == wheels["threads"].name
    assert bad["best_tag"] == "manylinux_2_34_x86_64"
    [problem] = bad["problems"]
    assert problem["kind"] == "tag"
    assert problem["subject"] == "manylinux1_x86_64"
    [tag] = bad["tags"]
    assert tag["tag"] == "manylinux1_x86_64"
    assert tag["true"] is False
    assert "GLIBC_2.34" in tag["reason"]
    assert tag["reasons"] >= 1
    assert good["ok"] is True
    assert good["problems"] == []
    assert good["error"] is None


def test_json_fields_are_documented(wheels: dict[str, Path]) -> None:
    """Every key the document has appears in docs/check-json.md."""
    _, out, _ = _run("--json", str(wheels["threads"]))
    document = json.loads(out)
    keys = set(document) | set(document["wheels"][0])
    keys |= set(document["wheels"][0]["problems"][0]) | set(document["wheels"][0]["tags"][0])
    text = DOCS.read_text(encoding="utf-8")
    assert [k for k in sorted(keys) if f"`{k}`" not in text] == []
