"""The process entry point switches the cyclic garbage collector off (a short-lived process:
reference counting frees what an audit allocates) and ends the process without the
interpreter's teardown once nothing is left to wait for; ``main`` leaves both alone for
embedders."""

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


def _run_entry_point(body: str) -> subprocess.CompletedProcess[str]:
    """``run()`` in a fresh process with ``main`` replaced by ``body`` (its value: the code)."""
    probe = (
        "import atexit, sys, threading, time; import manywheel.cli\n"
        "m = sys.modules['manywheel.cli.main']\n"
        f"def fake():\n{body}\n"
        "m.main = fake\n"
        "m.run()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )


def test_the_exit_runs_exit_functions_flushes_and_keeps_the_code() -> None:
    """The process ends without the interpreter's teardown, but what a user or a library
    asked for at exit still happens: exit functions, buffered output, the exit code."""
    done = _run_entry_point(
        "    atexit.register(lambda: print('exit function ran', file=sys.stderr))\n"
        "    sys.stdout.write('x' * 100000)\n"  # more than one buffer: flushed at the end
        "    sys.stdout.write('unflushed tail')\n"
        "    return 3\n"
    )
    assert done.returncode == 3
    assert done.stdout == "x" * 100000 + "unflushed tail"
    assert done.stderr == "exit function ran\n"


def test_the_exit_waits_for_a_thread_python_would_wait_for() -> None:
    done = _run_entry_point(
        "    def late():\n"
        "        time.sleep(0.3)\n"
        "        print('thread finished', flush=True)\n"
        "    threading.Thread(target=late).start()\n"
        "    return 0\n"
    )
    assert (done.returncode, done.stdout) == (0, "thread finished\n"), done.stderr
