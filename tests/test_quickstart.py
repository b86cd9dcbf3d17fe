"""The README's Quick start stays true: its pipeline demo runs on the bundled example from
nothing (its own virtual environment) — build, test on a clean root, check, upload to a local
index, install from it — and CI runs exactly its test command."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "the Quick start has no sh block"
    return [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_quick_start_has_the_two_commands() -> None:
    assert _quick_start_commands() == ["./scripts/demo", "./scripts/test"]


def test_ci_runs_the_readme_test_command() -> None:
    run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [line.strip() for line in run.splitlines() if line.strip() and line[0] != "#"]
    assert commands[-1] == "exec ./scripts/test"


@pytest.mark.slow
@pytest.mark.network
def test_demo_runs_from_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MANYWHEEL_", "AUDITWHEEL_"))}
    env["MANYWHEEL_VENV"] = str(tmp_path / "venv")
    env["MANYWHEEL_DEMO_DIR"] = str(tmp_path / "demo")
    done = subprocess.run(
        [str(ROOT / "scripts" / "demo")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    # the build's summary: tested on a clean Debian root, checked, uploaded
    [row] = [line for line in lines if line.startswith("cp3") and "-manylinux_" in line]
    assert row.split()[-3:] == ["passed", "uploaded", "built"], row
    assert "1 uploaded" in done.stderr
    # show on the uploaded wheel, then pip installed it from the index and called it
    assert any(line.endswith("after repair: manylinux_2_12_x86_64 (+ manylinux2010_x86_64)")
               for line in lines)  # fmt: skip
    assert "hello from libdemo" in done.stdout
    installed = tmp_path / "demo" / "venv" / "lib"
    assert any(line.startswith(f"from {installed}/python3.") for line in lines), lines[-5:]
