"""``manywheel check WHEEL...``: is each wheel ready to publish? The container verifies, the
metadata is what an index accepts, the long description renders, every platform tag in the
filename is true and none is ``linux_*``, and the Python and ABI tags are true for the
extension modules (abi3, abi3t, free-threaded).

One line per problem (``WHEEL: KIND: message``), ``WHEEL: OK`` for a wheel that passes; ``--json``
prints schema version 1 (docs/check-json.md). Exit 0 when every wheel passes, 1 when one fails
(``--strict``: or has a warning), 3 when one cannot be read at all (reported after the others).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from manywheel.cli.audit_arguments import add_policy_file_argument, audit_options, policies_from
from manywheel.cli.context import Context, Subparsers
from manywheel.cli.exit_codes import ExitCode, describe_error

if TYPE_CHECKING:
    from manywheel.build import CheckResult
    from manywheel.policy import PolicySet

__all__ = ["JSON_SCHEMA_VERSION", "add_check_arguments", "check_all", "register"]

JSON_SCHEMA_VERSION = 1


def register(subparsers: Subparsers, parent: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "check",
        parents=[parent],
        help="check wheels before publishing: container, metadata, description, true tags",
        description="Check that each wheel is ready to publish: it verifies (RECORD, names, "
        "tags), its metadata is what a package index accepts, its long description renders, "
        "every platform tag in its filename is true for its files and none is linux_*, and its "
        "Python tag (abi3, abi3t, free-threaded) is true for its extension modules. Exits "
        "1 when a wheel fails, 3 when one cannot be read.",
    )
    parser.add_argument("wheels", nargs="+", metavar="WHEEL", help="wheel files to check")
    parser.add_argument("--json", action="store_true", help="print JSON (schema version 1)")
    add_check_arguments(parser)
    parser.set_defaults(handler=_handle)


def add_check_arguments(parser: argparse.ArgumentParser) -> None:
    """The check's options, shared with ``upload``."""
    parser.add_argument(
        "--strict", action="store_true", help="fail a wheel on warnings too (as twine check)"
    )
    parser.add_argument(
        "--root",
        metavar="DIR",
        default="/",
        help="resolve libraries as if DIR were the system (a Debian root, a sysroot) (default: /)",
    )
    parser.add_argument(
        "--ldpaths",
        metavar="PATHS",
        help="colon-separated directories replacing the system's (default: the system's)",
    )
    parser.add_argument(
        "--disable-isa-ext-check",
        action="store_true",
        help="do not hold an extended ISA level (x86-64-v2...) against a tag",
    )
    add_policy_file_argument(parser)


def check_all(args: argparse.Namespace, ctx: Context) -> list[CheckResult]:
    """Check every wheel of ``args.wheels`` (policies loaded once)."""
    from manywheel.build import check_wheel

    options = audit_options(args, ctx.environ)
    loaded: list[PolicySet] = []

    def policies() -> PolicySet:
        if not loaded:
            loaded.append(policies_from(args))
        return loaded[0]

    return [check_wheel(path, policies=policies, audit_options=options) for path in args.wheels]


def _handle(args: argparse.Namespace, ctx: Context) -> int:
    results = check_all(args, ctx)
    if args.json:
        json.dump(check_document(results, strict=args.strict), ctx.stdout, indent=2)
        ctx.stdout.write("\n")
    else:
        for result in results:
            render_text(result, ctx, strict=args.strict)
    errors = [r.error for r in results if r.error is not None]
    if errors:  # each reported once: all but the last here, the last by main (exit 3)
        for error in errors[:-1]:
            print(f"manywheel: {describe_error(error)}", file=ctx.stderr)
        raise errors[-1]
    failed = any(not r.passed(strict=args.strict) for r in results)
    return ExitCode.FINDINGS if failed else ExitCode.OK


def render_text(result: CheckResult, ctx: Context, *, strict: bool) -> None:
    if result.error is not None:
        return
    label = ctx.paint("warning", "1;33")
    for problem in result.problems:
        kind = ctx.paint(problem.kind.value, "1;31")
        print(f"{result.path}: {kind}: {problem}", file=ctx.stdout)
    for warning in result.warnings:
        print(f"{result.path}: {label}: {warning}", file=ctx.stdout)
    if result.passed(strict=strict):
        print(f"{result.path}: {ctx.paint('OK', '32')}", file=ctx.stdout)


def check_entry(result: CheckResult, *, strict: bool) -> dict[str, object]:
    from manywheel.report import python_abi_json

    return {
        "path": result.path,
        "wheel": Path(result.path).name,
        "ok": result.passed(strict=strict),
        "error": None if result.error is None else str(result.error),
        "problems": [
            {"kind": p.kind.value, "subject": p.subject, "message": p.message}
            for p in result.problems
        ],
        "warnings": list(result.warnings),
        "tags": [
            {"tag": t.tag, "true": t.true, "reason": t.reason, "reasons": t.reasons}
            for t in result.tags
        ],
        "best_tag": result.best_tag,
        "python_abi": python_abi_json(result.python_abi),
    }


def check_document(results: list[CheckResult], *, strict: bool) -> dict[str, object]:
    return {
        "schema_version": JSON_SCHEMA_VERSION,
        "strict": strict,
        "wheels": [check_entry(r, strict=strict) for r in results],
    }
