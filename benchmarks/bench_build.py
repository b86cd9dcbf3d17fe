"""Time ``manywheel build`` against ``python -m build --wheel`` of the same project on the host,
and a matrix built on two jobs against the same matrix built one after another.

Run from the repository root: ``python -m benchmarks.bench_build [--repeat N]``.

1. *Overhead* (target: <= 15% of the build time). The project is examples/demo for CPython
   3.11: the reference runs its ``build-libdemo.sh`` and then ``python3.11 -m build --wheel``
   with the interpreter manywheel builds with (pyenv's), the same pypa/build and the same
   compiler, zig for glibc 2.17 (a wrapper around the cached zig), so the difference is
   manywheel's own work: copying the project, the environment's set-up on a warm cache, the
   in-process repair, logs and bookkeeping. Two more reference lines, for information: pypa/build
   installed in a venv (``venv/bin/python -m build``: a venv's python skips the base
   interpreter's site-packages and its .pth files, which on this machine import certifi at every
   start), and gcc instead of zig. Last, manywheel's own work is also read from its logs: the
   best run's wall time against the time its commands (before-all, the frontend) took.
2. *Parallel matrix* (target: <= 0.6x). ``manywheel build`` of every host CPython (>= 3.8) with
   ``-j 2`` against ``-j 1``, the same identifiers, warm caches.
3. *The test stage* (for information): the demo's cp311 build with its test (a fresh venv on a
   clean bookworm root, the wheel installed, ``tests/test_demo.py`` run) against the same build
   with ``--test-skip '*'``; the difference is the test stage's cost. The first two measure the
   build without it (``--test-skip '*'``), as ``python -m build`` has none.

Each measurement is the best of N runs (default 3), after one warm-up run of each command;
the commands compared take turns, so a change in the machine's load (two cores shared with other
work) falls on both.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from benchmarks.measure import Measurement, compile_bytecode, measure_command

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "examples" / "demo"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "manywheel"


def _taking_turns(repeat: int, *commands: Callable[[], Measurement]) -> list[Measurement]:
    """The best of ``repeat`` runs of each command, run in turn (a, b, a, b, ...)."""
    best: list[Measurement | None] = [None] * len(commands)
    for _ in range(repeat):
        for i, command in enumerate(commands):
            measured = command()
            current = best[i]
            if current is None or measured.seconds < current.seconds:
                best[i] = measured
    return [m for m in best if m is not None]


def _manywheel(*args: str) -> list[str]:
    return [sys.executable, "-m", "manywheel", "build", *args]


def _python(version: str) -> str:
    found = sorted(Path.home().glob(f".pyenv/versions/{version}.*/bin/python{version}"))
    path = str(found[-1]) if found else shutil.which(f"python{version}")
    if path is None:
        raise SystemExit(f"no CPython {version} on this machine")
    return path


def _zig_wrapper(directory: Path) -> Path:
    """``cc`` running the cached zig for x86_64 glibc 2.17, with the system's headers and
    libraries after zig's (as manywheel's own wrapper)."""
    zigs = sorted(CACHE.glob("toolchains/ziglang-*/ziglang/zig"))
    if not zigs:
        raise SystemExit("no cached zig: run manywheel build once first")
    version = zigs[-1].parent.parent.name.removeprefix("ziglang-")
    cache = CACHE / "toolchains" / f"zig-{version}-cache"
    wrapper = directory / "cc"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"export ZIG_GLOBAL_CACHE_DIR={cache} ZIG_LOCAL_CACHE_DIR={cache}\n"
        f'exec {zigs[-1]} cc -target x86_64-linux-gnu.2.17 "$@" -Wno-unused-command-line-argument'
        " -idirafter /usr/include/x86_64-linux-gnu -idirafter /usr/include"
        " -L/usr/lib/x86_64-linux-gnu -L/lib/x86_64-linux-gnu\n"
    )
    wrapper.chmod(0o755)
    return wrapper


def _reference_venv(directory: Path, python: str, pins: str) -> Path:
    venv = directory / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "install", "-q", pins],
        check=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
    )
    return venv / "bin" / "python"


def _reference(python: list[str], cc: str, work: Path) -> Measurement:
    """build-libdemo.sh, then ``python -m build --wheel`` (``python``: the command that runs
    pypa/build), in a fresh copy of the demo."""
    project = work / "project"
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(DEMO, project)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(CC=cc, LDSHARED=f"{cc} -shared", DEMO_LIB_DIR=str(project / "build/libdemo"))
    build = " ".join(shlex.quote(a) for a in python)
    script = (
        f"cd {project} && ./build-libdemo.sh && "
        f"{build} --wheel --outdir {work / 'dist'} . >/dev/null"
    )
    return measure_command(["sh", "-c", script], env=env)


def _same_interpreter_build(python: str) -> list[str]:
    """``python -m build`` with the pypa/build manywheel caches for it, run by ``python``
    itself (put on its ``sys.path`` by the command, as manywheel does)."""
    frontends = sorted(CACHE.glob("frontend/py310-*/build/__main__.py"))
    if not frontends:
        raise SystemExit("no cached frontend: run manywheel build once first")
    launcher = (
        "import sys; sys.path.insert(0, sys.argv.pop(1)); "
        "from build.__main__ import entrypoint; sys.argv[0] = 'build'; entrypoint()"
    )
    return [python, "-c", launcher, str(frontends[0].parent.parent)]


#: Builds without the test stage (the references have none).
UNTESTED = ("--test-skip", "*")


def _ours(work: Path, *args: str) -> Measurement:
    wheelhouse = work / "wheelhouse"
    shutil.rmtree(wheelhouse, ignore_errors=True)
    argv = _manywheel(str(DEMO), "-w", str(wheelhouse), "--env", "zig")
    argv += ["--log-dir", str(work / "logs"), *args]
    measured = measure_command(argv)
    _COMMAND_SECONDS.append((measured.seconds, _commands_in_last_run(work / "logs")))
    return measured


#: (wall time of a manywheel run, time its logs say its commands took), per run.
_COMMAND_SECONDS: list[tuple[float, float]] = []


def _commands_in_last_run(logs: Path) -> float:
    """The seconds the last run's commands (before-all, the frontend) took, from its logs."""
    last = sorted(p for p in logs.iterdir() if p.is_dir())[-1]
    text = "".join(p.read_text(errors="replace") for p in last.glob("*.log"))
    return sum(
        float(s) for s in re.findall(r"^manywheel: exit status \d+ after ([\d.]+) s$", text, re.M)
    )


def overhead(repeat: int, work: Path) -> None:
    from manywheel.build import FRONTEND_PINS

    interpreter = _python("3.11")
    same = _same_interpreter_build(interpreter)
    venv = [str(_reference_venv(work, interpreter, FRONTEND_PINS["py310"][0])), "-m", "build"]
    zig_cc = str(_zig_wrapper(work))
    one = ("--build", "cp311-manylinux_x86_64", *UNTESTED)
    _ours(work, *one)  # warm-up: caches, page cache
    _reference(same, zig_cc, work)
    _COMMAND_SECONDS.clear()
    ours, with_zig, in_venv, with_gcc = _taking_turns(
        repeat,
        lambda: _ours(work, *one),
        lambda: _reference(same, zig_cc, work),
        lambda: _reference(venv, zig_cc, work),
        lambda: _reference(same, "gcc", work),
    )
    share = (ours.seconds - with_zig.seconds) / with_zig.seconds
    wall, commands = min(_COMMAND_SECONDS)
    own = (wall - commands) / commands
    print(f"overhead, examples/demo cp311 with {interpreter} (best of {repeat}):")
    print(f"  manywheel build (before-all, build, repair, check)  {ours.seconds:6.2f} s")
    print(f"  build-libdemo.sh + python -m build, zig cc          {with_zig.seconds:6.2f} s")
    print(f"  the same, pypa/build in a venv (venv/bin/python)    {in_venv.seconds:6.2f} s")
    print(f"  the same as the first reference, gcc                {with_gcc.seconds:6.2f} s")
    print(f"  -> manywheel against python -m build: {share:+.1%} (target <= +15%)")
    print(
        f"  -> in manywheel's best run, its commands (before-all, frontend) took {commands:.2f} s "
        f"of {wall:.2f} s: its own work is {own:+.1%} of the build"
    )


def matrix(repeat: int, work: Path, versions: list[str]) -> None:
    selector = " ".join(f"cp{v.replace('.', '')}-manylinux_x86_64" for v in versions)
    args = ("--build", selector, *UNTESTED)
    _ours(work, *args, "-j", "2")  # warm-up
    serial, parallel = _taking_turns(
        repeat, lambda: _ours(work, *args, "-j", "1"), lambda: _ours(work, *args, "-j", "2")
    )
    ratio = parallel.seconds / serial.seconds
    print(f"matrix of {len(versions)} identifiers ({', '.join(versions)}), best of {repeat}:")
    print(f"  -j 1: {serial.seconds:6.2f} s   -j 2: {parallel.seconds:6.2f} s")
    print(f"  -> parallel / serial = {ratio:.2f}x (target <= 0.6x)")


def testing_cost(repeat: int, work: Path) -> None:
    one = ("--build", "cp311-manylinux_x86_64")
    _ours(work, *one)  # warm-up: the clean root unpacked once from the cache
    tested, untested = _taking_turns(
        repeat, lambda: _ours(work, *one), lambda: _ours(work, *one, *UNTESTED)
    )
    cost = tested.seconds - untested.seconds
    print(f"test stage, examples/demo cp311 on a clean bookworm root (best of {repeat}):")
    print(f"  with the test: {tested.seconds:6.2f} s   without: {untested.seconds:6.2f} s")
    print(f"  -> the test stage costs {cost:.2f} s per wheel ({cost / untested.seconds:+.0%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-matrix", action="store_true")
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--skip-test-stage", action="store_true")
    args = parser.parse_args()
    compile_bytecode()
    print(f"cores usable: {len(os.sched_getaffinity(0))}; load: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        work = Path(tmp)
        if not args.skip_overhead:
            overhead(args.repeat, work)
        if not args.skip_matrix:
            versions = [
                v
                for v in ("3.8", "3.9", "3.10", "3.11", "3.12", "3.13")
                if sorted(Path.home().glob(f".pyenv/versions/{v}.*"))
            ]
            matrix(args.repeat, work, versions)
        if not args.skip_test_stage:
            testing_cost(args.repeat, work)


if __name__ == "__main__":
    main()
