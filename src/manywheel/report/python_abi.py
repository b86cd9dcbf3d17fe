"""The Python tag's verdict as JSON (``python_abi`` in ``show --json-details`` and in
``repair --json``), apart from the platform tag's (docs/python-abi.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from manywheel.report.json_values import JsonObject

if TYPE_CHECKING:
    from manywheel.policy import AbiProblem, PythonAbiVerdict

__all__ = ["python_abi_json"]


def _dotted(version: tuple[int, int] | None) -> str | None:
    return None if version is None else f"{version[0]}.{version[1]}"


def python_abi_json(verdict: PythonAbiVerdict | None) -> JsonObject | None:
    """The Python-tag verdict (``python_abi`` in ``--json-details``), apart from the
    platform-tag verdict (``as_is``, ``after_repair``, ``policies``)."""
    if verdict is None:
        return None
    return {
        "tags": list(verdict.tags),
        "ok": verdict.ok,
        "baseline": _dotted(verdict.baseline),
        "needed": _dotted(verdict.needed),
        "honest_tags": list(verdict.honest_tags),
        "members": [
            {"member": m, "needs": _dotted(verdict.member_needs.get(m))} for m in verdict.members
        ],
        "problems": [_abi_problem(p) for p in verdict.problems],
        "notes": [_abi_problem(p) for p in verdict.notes],
        "data_source": verdict.source,
    }


def _abi_problem(problem: AbiProblem) -> JsonObject:
    return {
        "kind": problem.kind.value,
        "member": problem.member,
        "tag": problem.tag,
        "symbols": list(problem.symbols),
        "version": problem.version,
        "message": problem.message,
    }
