"""``manywheel build --json``: the run as a JSON document (schema in docs/build-json.md).

Schema version 1, grown by additive keys only: each build's ``test``, ``check``, ``upload``,
``kept_wheel``, ``log_tail`` and ``reused_from``, the run's ``upload``, and the stages
``test`` and ``check`` among the values of ``stage``. Every key a version-1 reader knew keeps
its meaning."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from manywheel.build.pipeline import BuildRun
from manywheel.build.results import BuildOutcome, Status

if TYPE_CHECKING:
    from manywheel.build.check import CheckResult
    from manywheel.build.upload import UploadReport, WheelUpload

__all__ = ["BUILD_SCHEMA_VERSION", "build_document"]

BUILD_SCHEMA_VERSION = 1


def _grafts(outcome: BuildOutcome) -> list[dict[str, str]]:
    plan = outcome.repair.plan if outcome.repair is not None else None
    if plan is None:
        return []
    return [{"source": g.source, "member": g.member} for g in plan.grafts]


def _test(outcome: BuildOutcome) -> dict[str, Any] | None:
    result = outcome.test
    if result is None:
        if not outcome.test_skipped:
            return None
        return {"status": "skipped", "system": None, "returncode": None, "seconds": 0.0,
                "output": []}  # fmt: skip
    return {
        "status": result.status.value,
        "system": result.system,
        "returncode": result.returncode,
        "seconds": round(result.seconds, 3),
        "output": [line for line in result.output.splitlines() if line.strip()][-20:],
    }


def _check(check: CheckResult | None) -> dict[str, Any] | None:
    if check is None:
        return None
    return {
        "ok": check.error is None and not check.problems,
        "problems": [
            {"kind": p.kind.value, "subject": p.subject, "message": p.message}
            for p in check.problems
        ],
        "warnings": list(check.warnings),
        "best_tag": check.best_tag,
    }


def _upload(upload: WheelUpload | None) -> dict[str, str] | None:
    if upload is None:
        return None
    return {"outcome": upload.outcome.value, "detail": upload.detail}


def _build(outcome: BuildOutcome, report: UploadReport | None) -> dict[str, Any]:
    from manywheel.build.publishing import upload_of

    return {
        "identifier": str(outcome.identifier),
        "status": outcome.status.value,
        "wheel": outcome.wheel.name if outcome.wheel is not None else None,
        "path": str(outcome.wheel) if outcome.wheel is not None else None,
        "built_wheel": outcome.built_wheel,
        "tag": outcome.tag,
        "platform_tags": list(outcome.tags),
        "size": outcome.size,
        "seconds": round(outcome.seconds, 3),
        "grafted": _grafts(outcome),
        "stage": outcome.stage.value if outcome.stage is not None else None,
        "error": outcome.error,
        "log": str(outcome.log) if outcome.log is not None else None,
        "log_tail": list(outcome.log_tail),
        "test": _test(outcome),
        "check": _check(outcome.check),
        "kept_wheel": str(outcome.kept) if outcome.kept is not None else None,
        "reused_from": str(outcome.reused_from) if outcome.reused_from is not None else None,
        "upload": _upload(upload_of(report, outcome)),
    }


def _upload_summary(run: BuildRun) -> dict[str, Any] | None:
    report = run.upload
    if report is None:
        return None
    counts = dict.fromkeys(("uploaded", "exists", "conflict", "held-back", "not-tried", "error"), 0)
    for wheel in report.wheels:
        counts[wheel.outcome.value] = counts.get(wheel.outcome.value, 0) + 1
    return {
        "repository": report.repository,
        **{key.replace("-", "_"): value for key, value in counts.items()},
        "error": str(run.upload_error) if run.upload_error is not None else None,
    }


def build_document(run: BuildRun, *, tool_version: str, exit_code: int) -> dict[str, Any]:
    """The document for a finished run; ``exit_code`` is the command's."""
    outcomes: Sequence[BuildOutcome] = run.outcomes
    return {
        "schema_version": BUILD_SCHEMA_VERSION,
        "tool": {"name": "manywheel", "version": tool_version},
        "project": str(run.source.given),
        "environment": run.environment,
        "wheelhouse": str(run.wheelhouse.absolute()),
        "log_dir": str(run.log_dir),
        "summary": {
            "built": run.count(Status.BUILT),
            "failed": run.count(Status.FAILED),
            "unavailable": run.count(Status.UNAVAILABLE),
            "exit_code": exit_code,
        },
        "builds": [_build(o, run.upload) for o in outcomes],
        "upload": _upload_summary(run),
    }
