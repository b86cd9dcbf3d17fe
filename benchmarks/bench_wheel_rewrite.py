"""Rewriting a large wheel with one small member changed, against a plain file copy.

    python -m benchmarks.bench_wheel_rewrite [WHEEL] [MEMBER]

Default: the torch CPU wheel in /opt/wheels, changing ``torch/version.py``. Prints best-of-3
times for: ``shutil.copyfile``; the rewrite with RECORD rows of unchanged members carried over
(no inflate at all); the rewrite that verifies every unchanged member's hash first, from cold and
with the digests already known (as after an audit that streamed the members); and a durable
commit (fsync).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from benchmarks.measure import Measurement, best_of, measure_call
from manywheel.wheel import WheelArchive, rewrite_wheel

DEFAULT_WHEEL = Path("/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")
DEFAULT_MEMBER = "torch/version.py"


def _rewrite(
    wheel: Path, member: str, dest: Path, *, verify: bool, durable: bool = False, warm: bool = False
) -> Callable[[], Measurement]:
    def run() -> Measurement:
        with WheelArchive.open(wheel) as archive:
            changed = archive.read_member(member) + b"\n# rewritten\n"
            if warm:  # what an audit that streamed every member leaves on the archive
                for m in archive.members:
                    if not m.is_dir:
                        archive.open_member(m).drain()

            (dest / wheel.name).unlink(missing_ok=True)  # replacing a file costs its unlink

            def work() -> None:
                pending = rewrite_wheel(
                    archive, dest, changes={member: changed}, verify_unchanged=verify
                )
                pending.commit(durable=durable)

            return measure_call(work)

    return run


def _copy(wheel: Path, target: Path) -> Measurement:
    target.unlink(missing_ok=True)
    return measure_call(lambda: shutil.copyfile(wheel, target))


def main(argv: list[str]) -> int:
    wheel = Path(argv[0]) if argv else DEFAULT_WHEEL
    member = argv[1] if len(argv) > 1 else DEFAULT_MEMBER
    if not wheel.exists():
        print(f"{wheel}: not found", file=sys.stderr)
        return 2
    size = wheel.stat().st_size
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        dest = Path(tmp)
        shutil.copyfile(wheel, dest / "warm.whl")  # warm the page cache
        copy = best_of(3, lambda: _copy(wheel, dest / "copy.whl"))
        print(f"{wheel.name}: {size / 2**20:.0f} MiB, changing {member}")
        print(f"shutil.copyfile:                         {copy.seconds:.3f}s")
        cases = {
            "rewrite, RECORD rows carried over": _rewrite(wheel, member, dest, verify=False),
            "rewrite, verified, digests known (audit)": _rewrite(
                wheel, member, dest, verify=True, warm=True
            ),
            "rewrite, verified from cold": _rewrite(wheel, member, dest, verify=True),
            "rewrite, carried over, durable commit": _rewrite(
                wheel, member, dest, verify=False, durable=True
            ),
        }
        for label, run in cases.items():
            result = best_of(3, run)
            ratio = result.seconds / copy.seconds if copy.seconds else float("inf")
            print(f"{label + ':':41s}{result.seconds:.3f}s  ({ratio:.2f}x the copy)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
