"""The process entry point switches the cyclic garbage collector off (a short-lived process:
reference counting frees what an audit allocates); ``main`` leaves it alone for embedders."""

from __future__ import annotations

import gc
import io
import subprocess
import sys

from manywheel.cli.main import main


def test_main_leaves_the_collector_alone() -> None:
    assert gc.isenabled()
    assert main(["--version"], stdout=io.StringIO(), stderr=io.StringIO()) == 0
    assert gc.isenabled()


def test_the_process_entry_point_runs_without_the_collector() -> None:
    probe = (
        "import gc, sys; import manywheel.cli; m = sys.modules['manywheel.cli.main']\n"
        "m.main = lambda: print(gc.isenabled()) or 0\n"
        "m.run()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout) == (0, "False\n"), done.stderr
