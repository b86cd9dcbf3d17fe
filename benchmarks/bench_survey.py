"""Time ``manywheel survey`` on the machine's local indexes, and its audit against ``auditwheel
show`` (6.8.2) on the same wheels, in one run.

Run from the repository root: ``python -m benchmarks.bench_survey [--repeat N]
[--auditwheel-sample K] [--skip-auditwheel] [--skip-http]``.

1. Coverage of 300 projects (the first 300 the indexes list), from ``file://`` and over HTTP
   from a server on the loopback interface: best of N wall times (target: <= 5 s).
2. ``--audit`` of every Linux platform wheel under 60 MB in the local indexes (every release,
   pre-releases too), a cold cache, the default executor (worker processes on the usable
   cores), against ``auditwheel show`` run on each of those wheels one after the other: the
   total times and their ratio (target: >= 20x). ``--auditwheel-sample K`` times auditwheel on
   every K-th wheel only and scales its total by the wheels' sizes (printed as an estimate).
3. The same audit over HTTP with range requests (loopback servers over the two local indexes):
   the bytes fetched against the wheels' sizes, for the wheels over 20 MB (target: <= 25%) and
   for all; how many records agree with the local audit; and the time.
4. With ``--big``: every Linux platform wheel over 20 MB of the local indexes, the ones over
   60 MB too (torch, the CUDA libraries...), audited over HTTP with ranges: the bytes fetched.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.survey.server import serve

from benchmarks.measure import Measurement, best_of, compile_bytecode, measure_command

PYPI, PYPI_MORE, FIND_LINKS = Path("/opt/pypi"), Path("/opt/pypi-more"), Path("/opt/wheels")
FILE_INDEXES = [
    "-i", (PYPI / "simple").as_uri(),
    "--extra-index-url", (PYPI_MORE / "simple").as_uri(),
    "-f", str(FIND_LINKS),
]  # fmt: skip
MAX_SIZE = 60_000_000
BIG = 20_000_000
_SURVEY = [sys.executable, "-m", "manywheel", "survey", "--isolated", "-q"]


def _wheels() -> list[Path]:
    """Every Linux platform wheel under 60 MB in the local indexes."""
    found = []
    for directory in (PYPI / "files", PYPI_MORE / "files", FIND_LINKS):
        for path in sorted(directory.glob("*.whl")):
            platforms = path.name[:-4].rsplit("-", 1)[-1].split(".")
            linux = any("linux" in p for p in platforms)
            if linux and path.stat().st_size < MAX_SIZE:
                found.append(path)
    return found


def coverage(repeat: int, skip_http: bool) -> None:
    argv = [*_SURVEY, *FILE_INDEXES, "--all", "--top", "300"]
    local = best_of(repeat, lambda: measure_command(argv))
    print(f"coverage of 300 projects (file://): {local.seconds:.2f}s (target <= 5 s)", flush=True)
    if skip_http:
        return
    with serve(PYPI) as first, serve(PYPI_MORE) as second:
        http = ["-i", f"{first.url}/simple", "--extra-index-url", f"{second.url}/simple"]
        remote = best_of(
            repeat, lambda: measure_command([*_SURVEY, *http, "--all", "--top", "300"])
        )
    print(f"coverage of 300 projects (HTTP, loopback): {remote.seconds:.2f}s", flush=True)


def _audit_args() -> list[str]:
    return ["--all", "--releases", "all", "--pre", "--audit", "--audit-max-size", str(MAX_SIZE),
            "--no-cache"]  # fmt: skip


def _records(report: Path) -> dict[str, dict[str, Any]]:
    document = json.loads(report.read_text())
    return {a["filename"]: a for p in document["packages"] for r in p["releases"]
            for a in r["audits"]}  # fmt: skip


def audit(wheels: list[Path], sample: int, skip_auditwheel: bool, work: Path) -> dict[str, Any]:
    report = work / "local.json"
    ours = measure_command([*_SURVEY, *FILE_INDEXES, *_audit_args(), "--json", str(report)])
    records = _records(report)
    failed = sorted(n for n, a in records.items() if a["error"])
    print(f"audit of {len(records)} wheels (local indexes, {len(wheels)} Linux platform wheels "
          f"under 60 MB listed): manywheel survey {ours.seconds:.1f}s; "
          f"{sum(a['mislabelled'] for a in records.values())} mislabelled, "
          f"{len(failed)} could not be audited {failed}", flush=True)  # fmt: skip
    if skip_auditwheel:
        return records
    tool = shutil.which("auditwheel", path=str(Path(sys.executable).parent)) or "auditwheel"
    chosen = wheels[::sample]
    total = 0.0
    for path in chosen:
        start = time.perf_counter()
        subprocess.run([tool, "show", str(path)], capture_output=True, check=False)
        total += time.perf_counter() - start
    if sample > 1:
        scale = sum(p.stat().st_size for p in wheels) / sum(p.stat().st_size for p in chosen)
        total *= scale
    theirs = Measurement(total, 0)
    estimate = f" (estimated from {len(chosen)} of them, by size)" if sample > 1 else ""
    print(f"auditwheel show on each of the {len(wheels)} wheels: {theirs.seconds:.1f}s{estimate}"
          f" -> manywheel {theirs.seconds / ours.seconds:.1f}x faster (target >= 20x)",
          flush=True)  # fmt: skip
    return records


def http_bytes(local: dict[str, dict[str, Any]], work: Path) -> None:
    report = work / "http.json"
    with serve(PYPI) as first, serve(PYPI_MORE) as second:
        http = ["-i", f"{first.url}/simple", "--extra-index-url", f"{second.url}/simple"]
        timed = measure_command([*_SURVEY, *http, *_audit_args(), "--json", str(report)])
    records = _records(report)
    keys = ("best", "best_after_repair", "findings", "claimed", "elf_members", "error")
    agree = sum(all(records[n][k] == local[n][k] for k in keys) for n in records if n in local)
    print(f"audit over HTTP with ranges: {timed.seconds:.1f}s; {agree} of {len(records)} records "
          "agree with the local audit", flush=True)  # fmt: skip
    for label, low in (("over 20 MB", BIG), ("all", 0)):
        chosen = [a for a in records.values() if a["error"] is None and (a["size"] or 0) > low]
        fetched = sum(a["bytes_fetched"] for a in chosen)
        size = sum(a["size"] for a in chosen)
        print(f"bytes fetched with ranges, wheels {label} ({len(chosen)}): {fetched / 1e6:.1f} MB "
              f"of {size / 1e6:.1f} MB = {100 * fetched / max(size, 1):.1f}%"
              + (" (target <= 25%)" if low else ""), flush=True)  # fmt: skip


def big_bytes() -> None:
    """Every wheel over 20 MB, over HTTP with ranges, audited one by one."""
    from manywheel.policy import load_policies
    from manywheel.survey import AuditJob, AuditPlan, DistFile, run_audit_job

    policies = load_policies()
    fetched = total = 0
    count = 0
    for root in (PYPI, PYPI_MORE):
        with serve(root) as server:
            for path in sorted((root / "files").glob("*.whl")):
                platforms = path.name[:-4].rsplit("-", 1)[-1]
                if "linux" not in platforms or path.stat().st_size <= BIG:
                    continue
                url = f"{server.url}/files/{path.name}"
                record = run_audit_job(AuditJob(DistFile(path.name, url), AuditPlan()), policies)
                if record.error is None:
                    fetched += record.bytes_fetched
                    total += path.stat().st_size
                    count += 1
    share = 100 * fetched / max(total, 1)
    print(f"bytes fetched with ranges, every wheel over 20 MB ({count}): {fetched / 1e6:.1f} MB "
          f"of {total / 1e6:.1f} MB = {share:.1f}%", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of the coverage (best of)")
    parser.add_argument("--auditwheel-sample", type=int, default=1, metavar="K",
                        help="run auditwheel on every K-th wheel only (an estimate)")  # fmt: skip
    parser.add_argument("--skip-auditwheel", action="store_true")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--big", action="store_true", help="also every wheel over 60 MB (HTTP)")
    args = parser.parse_args()
    if not (PYPI / "simple").is_dir():
        raise SystemExit("the machine's local index (/opt/pypi) is absent")
    compile_bytecode()
    coverage(args.repeat, args.skip_http)
    with tempfile.TemporaryDirectory(prefix="bench-survey-") as work:
        local = audit(_wheels(), args.auditwheel_sample, args.skip_auditwheel, Path(work))
        if not args.skip_http:
            http_bytes(local, Path(work))
    if args.big:
        big_bytes()


if __name__ == "__main__":
    main()
