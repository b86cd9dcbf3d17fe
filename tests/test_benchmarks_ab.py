"""``python -m benchmarks.ab``: revisions of manywheel compared on one command, byte-compiled,
taking turns — run for real on this checkout, a copy of it, and a git revision."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from benchmarks import ab

from tests.harness.extensions import write_wheel

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
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},  # (the runs write no bytecode)
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "manywheel --version: 2 rounds, taking turns"
    assert lines[1].startswith("  .: best ") and "1.000x the first" in lines[1]
    assert lines[2].startswith(f"  {copy}: best ")
    # the copy was compiled before its runs, every module of it (`--version` imports few, and
    # the runs write no bytecode): no run paid for compiling it
    assert list((copy / "src" / "manywheel" / "wheel" / "__pycache__").glob("writer.cpython-*.pyc"))


def test_out_is_a_fresh_directory_for_each_run_and_goes_away(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real command writing into ``{out}``: a pure wheel repaired (copied) there, four times."""
    wheel = write_wheel(tmp_path, "purepkg", "1.0", "py3-none-any", {"purepkg/__init__.py": b""})
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.chdir(tmp_path)
    revision = ab.Revision(".", REPO)
    command = ["repair", "-w", "{out}", "--allow-pure-python-wheel", str(wheel)]
    runs = ab.compare([revision, revision], command, 2)
    assert len(runs["."]) == 4 and all(r.seconds > 0 and r.peak_rss > 0 for r in runs["."])
    assert not (tmp_path / "{out}").exists()  # (substituted, not taken literally)
    assert list(scratch.iterdir()) == []  # each run's directory removed after it


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
