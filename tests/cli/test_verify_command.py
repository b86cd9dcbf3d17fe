"""``manywheel verify``: text and JSON output, exit codes 0 / 1 / 3."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from manywheel.cli import main
from tests.wheel.builders import RawEntry, raw_zip, wheel_files, write_wheel

WHEEL_NAME = "demo-1.0-py3-none-any.whl"


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["verify", *argv], stdout=out, stderr=err, environ={})
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    (tmp_path / "clean").mkdir()
    return write_wheel(tmp_path / "clean" / WHEEL_NAME, wheel_files({"demo/a.py": b"a = 1\n"}))


@pytest.fixture
def tampered(tmp_path: Path) -> Path:
    files = wheel_files({"demo/a.py": b"a = 1\n"})
    files["demo/a.py"] = b"a = 2\n"
    (tmp_path / "tampered").mkdir()
    return write_wheel(tmp_path / "tampered" / WHEEL_NAME, files)


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    entries = [RawEntry(n.encode(), d) for n, d in wheel_files({}).items()]
    path = tmp_path / "hostile" / WHEEL_NAME
    path.parent.mkdir()
    path.write_bytes(raw_zip([*entries, RawEntry(b"../../etc/evil", b"x")]))
    return path


def test_clean_wheel(clean: Path) -> None:
    code, out, err = _run(str(clean))
    assert (code, out, err) == (0, f"{clean}: OK\n", "")


def test_findings_exit_1_and_name_the_member(tampered: Path) -> None:
    code, out, err = _run(str(tampered))
    assert code == 1
    assert err == ""
    [line] = out.splitlines()
    assert line.startswith(f"{tampered}: hash-mismatch: demo/a.py: content does not match RECORD")
    assert "(expected sha256=" in line
    assert ", found sha256=" in line


def test_json_output(clean: Path, tampered: Path) -> None:
    code, out, _ = _run("--json", str(clean), str(tampered))
    assert code == 1
    document = json.loads(out)
    assert document["schema_version"] == 1
    first, second = document["wheels"]
    assert (first["path"], first["ok"], first["findings"]) == (str(clean), True, [])
    assert second["ok"] is False
    [finding] = second["findings"]
    assert finding["kind"] == "hash-mismatch"
    assert finding["member"] == "demo/a.py"
    assert finding["expected"].startswith("sha256=")


def test_hostile_wheel_exits_3_after_checking_the_others(clean: Path, hostile: Path) -> None:
    code, out, err = _run(str(hostile), str(clean))
    assert code == 3
    assert out == f"{clean}: OK\n"
    assert err.startswith(f"manywheel: error: {hostile}:")
    assert "unsafe member name" in err
    assert len(err.splitlines()) == 1


def test_each_unreadable_wheel_is_reported_once(tmp_path: Path, hostile: Path) -> None:
    missing = tmp_path / WHEEL_NAME
    code, out, err = _run(str(missing), str(hostile))
    assert code == 3
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 2
    assert str(missing) in lines[0]
    assert str(hostile) in lines[1]


def test_json_reports_errors_too(hostile: Path) -> None:
    code, out, _ = _run("--json", str(hostile))
    assert code == 3
    [entry] = json.loads(out)["wheels"]
    assert entry["ok"] is False
    assert "unsafe member name" in entry["error"]


def test_needs_a_wheel() -> None:
    code, _, err = _run()
    assert code == 2
    assert "required: WHEEL" in err
