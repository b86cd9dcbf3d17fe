"""``python -m benchmarks.ab``: revisions of manywheel compared on one command, byte-compiled,
taking turns — run for real on this checkout, a copy of it, and a git revision."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from benchmarks import ab
from benchmarks.measure import Measurement

REPO = Path(__file__).resolve().parent.parent


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "copy"
    shutil.copytree(
        REPO / "src" / "manywheel",
        tree / "src" / "manywheel",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return tree


def test_two_trees_take_turns_and_are_byte_compiled(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.ab",
            "--rev",
            ".",
            "--rev",
            str(copy),
            "--repeat",
            "2",
            "--",
            "--version",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "manywheel --version: 2 rounds, taking turns"
    assert lines[1].startswith("  .: best ") and "1.000x the first" in lines[1]
    assert lines[2].startswith(f"  {copy}: best ")
    # the copy was compiled before its runs (no run paid for compiling it)
    assert list((copy / "src" / "manywheel" / "__pycache__").glob("__init__.cpython-*.pyc"))


def test_each_run_gets_a_fresh_output_directory(tmp_path: Path) -> None:
    seen: list[str] = []

    def fake_measure(argv: list[str], *, env: dict[str, str] | None = None) -> Measurement:
        out = Path(argv[-1])
        assert out.is_dir() and not any(out.iterdir())
        seen.append(str(out))
        (out / "made").write_text("x")  # (what a run leaves is not seen by the next)
        return Measurement(0.1, 1 << 20, 0.1)

    revision = ab.Revision(".", REPO)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(ab, "measure_command", fake_measure)
        runs = ab.compare([revision, revision], ["{out}"], 2)
    assert len(runs["."]) == 4 and len(set(seen)) == 4


def test_a_git_revision_is_checked_out_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = ab.checkout("HEAD")
    try:
        assert (first.tree / "src" / "manywheel" / "__init__.py").is_file()
        assert first.tree.parent == tmp_path / "cache" / "manywheel" / "ab"
        assert ab.checkout("HEAD").tree == first.tree  # (no second worktree)
    finally:
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "remove", "--force", str(first.tree)], check=True
        )


def test_a_name_that_is_neither_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="neither a directory with src/manywheel nor a revision"):
        ab.checkout(str(tmp_path / "no-such-tree"))
