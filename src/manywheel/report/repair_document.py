"""``manywheel repair --json``: what was done to each wheel (schema version 1, documented in
docs/repair-json.md)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from manywheel.report.python_abi import python_abi_json
from manywheel.values import value_class
from manywheel.wheel import WheelFilename

if TYPE_CHECKING:
    from manywheel.repair import RepairResult

__all__ = ["REPAIR_SCHEMA_VERSION", "RepairFailure", "repair_json"]

REPAIR_SCHEMA_VERSION = 1


@value_class
class RepairFailure:
    """The wheel whose repair failed, the one line describing why (as the CLI prints it on
    stderr) and the exit code it ends with."""

    input: Path
    error: str
    exit_code: int


def _wheel(result: RepairResult) -> dict[str, Any]:
    plan = result.plan
    out: dict[str, Any] = {
        "input": str(result.input),
        "output": str(result.output),
        "pure": plan is None,
        "tag": None if plan is None else plan.target.tag,
        "platform_tags": list(WheelFilename.parse(result.output.name).platform_tags),
        "grafted": [],
        "excluded": [],
        "from_wheels": {},
        "patched": [],
        "size": {
            "input": result.input_size,
            "output": result.output_size,
            "growth": result.output_size - result.input_size,
        },
        "warnings": list(result.warnings),
        "sbom": None,
        "licenses": {
            "files": [
                {
                    "member": f.member,
                    "source": f.source,
                    "purl": None if f.package is None else f.package.purl,
                    "libraries": list(f.libraries),
                }
                for f in result.licenses
            ],
            "missing": list(result.unlicensed),
            "note": result.license_note,
        },
        "python_abi": python_abi_json(result.report.python_abi),
    }
    if result.sbom is not None:
        out["sbom"] = {
            "member": result.sbom,
            "packages": [{"source": p, "purl": o.purl} for p, o in result.sbom_packages],
        }
    if plan is None:
        return out
    provided = dict(plan.provided)
    out["grafted"] = [
        {
            "sonames": list(g.sonames),
            "source": g.source,
            "member": g.member,
            "size": Path(g.file).stat().st_size,
            "included": g.included,
        }
        for g in plan.grafts
    ]
    out["excluded"] = [name for name in plan.excluded if name not in provided]
    out["from_wheels"] = provided
    out["patched"] = [
        {
            "member": p.member,
            "moved_to": p.moved_to,
            "replace_needed": dict(p.edits.replace_needed),
            "remove_needed": list(p.edits.remove_needed),
            "rpath": p.edits.rpath,
            "rpath_removed": p.edits.remove_rpath,
        }
        for p in plan.patches
    ]
    return out


def repair_json(
    results: Sequence[RepairResult],
    *,
    failed: RepairFailure | None = None,
    not_attempted: Sequence[Path] = (),
) -> dict[str, Any]:
    """The document for ``results`` (the wheels written, in order) and, when a later wheel
    failed, that wheel with its error and exit code and the wheels after it, never tried."""
    failure = None
    if failed is not None:
        failure = {
            "input": str(failed.input),
            "error": failed.error,
            "exit_code": failed.exit_code,
        }
    return {
        "schema_version": REPAIR_SCHEMA_VERSION,
        "wheels": [_wheel(r) for r in results],
        "failed": failure,
        "not_attempted": [str(w) for w in not_attempted],
    }
