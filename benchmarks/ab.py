"""Compare revisions of manywheel on one command, the runs taking turns::

    python -m benchmarks.ab --rev b3d48ed --rev . --repeat 6 -- \\
        repair -w {out} --exclude 'libtorch*.so' --exclude libc10.so \\
        /opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl

A revision is a git revision of this repository (checked out once, detached, with ``git
worktree`` under the user's cache directory, ``manywheel/ab/<commit>``) or a directory holding
``src/manywheel`` (``.``: this checkout, uncommitted changes included). Each is byte-compiled
before the runs, as an installed wheel is: under ``PYTHONDONTWRITEBYTECODE`` (set on machines
that keep source trees clean) a tree never compiled compiles its ~80 modules on every run —
0.1 to 0.2 s of CPU on a repair — and a comparison then credits that to the other revision.

The runs take turns (every revision once, then again) so that the machine's drift is shared by
all; ``{out}`` in the command becomes a fresh empty directory for each run. Printed: each
revision's best and median wall time, best CPU time and peak RSS, and each one's ratio to the
first revision. A command that fails (exit status other than 0 and 1) stops the comparison.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.measure import Measurement, measure_command

__all__ = ["Revision", "checkout", "compare", "main"]

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Revision:
    #: What the user named (a git revision or a directory).
    name: str
    #: The tree whose ``src`` is put first on ``PYTHONPATH``.
    tree: Path


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "manywheel" / "ab"


def checkout(name: str) -> Revision:
    """The tree of revision ``name``: a directory with ``src/manywheel``, else a git revision of
    this repository checked out (once) in the cache directory."""
    path = Path(name)
    if (path / "src" / "manywheel").is_dir():
        return Revision(name, path.resolve())
    resolved = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--verify", f"{name}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if resolved.returncode != 0:
        raise SystemExit(f"ab: {name!r} is neither a directory with src/manywheel nor a revision")
    commit = resolved.stdout.strip()
    tree = _cache_dir() / commit
    if not (tree / "src" / "manywheel").is_dir():
        tree.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "-C", str(REPO), "worktree", "prune"], check=True)
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", "--quiet", str(tree), commit],
            check=True,
        )
    return Revision(name, tree)


def _run(revision: Revision, command: list[str]) -> Measurement:
    env = dict(os.environ, PYTHONPATH=str(revision.tree / "src"))
    with tempfile.TemporaryDirectory(prefix="manywheel-ab-") as out:
        argv = [sys.executable, "-m", "manywheel", *(a.replace("{out}", out) for a in command)]
        try:
            return measure_command(argv, env=env)
        except RuntimeError as e:  # the command failed: say which revision, no traceback
            raise SystemExit(f"ab: {revision.name}: {e}") from None


def compare(
    revisions: list[Revision], command: list[str], repeat: int
) -> dict[str, list[Measurement]]:
    """Every revision's runs of ``command`` (manywheel's arguments), ``repeat`` rounds taking
    turns, after byte-compiling each tree."""
    for revision in revisions:
        if not compileall.compile_dir(revision.tree / "src" / "manywheel", quiet=1):
            raise SystemExit(f"ab: {revision.name} does not compile")
    runs: dict[str, list[Measurement]] = {r.name: [] for r in revisions}
    for _ in range(repeat):
        for revision in revisions:
            runs[revision.name].append(_run(revision, command))
    return runs


def _summary(runs: list[Measurement]) -> tuple[float, float, float, float]:
    walls = sorted(r.seconds for r in runs)
    return (
        walls[0],
        statistics.median(walls),
        min(r.cpu_seconds for r in runs),
        max(r.peak_rss for r in runs) / 2**20,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.ab",
        description="Compare revisions of manywheel on one command, the runs taking turns.",
    )
    parser.add_argument(
        "--rev",
        action="append",
        required=True,
        help="a git revision or a directory with src/manywheel (repeat: two or more)",
    )
    parser.add_argument("--repeat", type=int, default=5, help="rounds (default: 5)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- manywheel's arguments")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if len(args.rev) < 2 or not command or args.repeat < 1:
        parser.error("give two --rev or more, --repeat of at least 1, and a command after --")
    revisions = [checkout(name) for name in args.rev]
    print(f"manywheel {' '.join(command)}: {args.repeat} rounds, taking turns", flush=True)
    runs = compare(revisions, command, args.repeat)
    first = _summary(runs[revisions[0].name])
    for revision in revisions:
        best, median, cpu, rss = _summary(runs[revision.name])
        print(
            f"  {revision.name}: best {best:.3f}s, median {median:.3f}s, cpu best {cpu:.3f}s, "
            f"peak RSS {rss:.0f} MiB; {best / first[0]:.3f}x the first (median "
            f"{median / first[1]:.3f}x, cpu {cpu / first[2] if first[2] else float('nan'):.3f}x)"
        )


if __name__ == "__main__":
    main()
