"""``manywheel build --json``: the run as a JSON document (schema in docs/build-json.md)."""

from __future__ import annotations

from typing import Any

from manywheel.build.pipeline import BuildRun
from manywheel.build.results import BuildOutcome, Status

__all__ = ["BUILD_SCHEMA_VERSION", "build_document"]

BUILD_SCHEMA_VERSION = 1


def _grafts(outcome: BuildOutcome) -> list[dict[str, str]]:
    plan = outcome.repair.plan if outcome.repair is not None else None
    if plan is None:
        return []
    return [{"source": g.source, "member": g.member} for g in plan.grafts]


def _build(outcome: BuildOutcome) -> dict[str, Any]:
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
    }


def build_document(run: BuildRun, *, tool_version: str, exit_code: int) -> dict[str, Any]:
    """The document for a finished run; ``exit_code`` is the command's."""
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
        "builds": [_build(o) for o in run.outcomes],
    }
