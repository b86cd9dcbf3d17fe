"""``manywheel verify WHEEL...``: check each wheel's structure, metadata, tags and RECORD.

Exit 0 when every wheel is clean, 1 when any has findings, 3 when one cannot be read safely at
all (its error is raised once every wheel has been checked). ``--json`` prints one document with a
schema version. Several wheels are checked in processes of their own on every usable core
(:mod:`manywheel.cli.wheel_pool`), reported in the order given.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from manywheel.cli.context import Context, Subparsers
from manywheel.cli.exit_codes import ExitCode, describe_error, is_environmental
from manywheel.cli.wheel_pool import map_in_processes, usable_cores
from manywheel.errors import InputError, InvalidWheelError

if TYPE_CHECKING:
    from manywheel.wheel import Finding, WheelArchive

__all__ = ["JSON_SCHEMA_VERSION", "register"]

JSON_SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class _Result:
    path: str
    findings: tuple[Finding, ...] = ()
    signatures: tuple[str, ...] = ()
    error: Exception | None = None


def register(subparsers: Subparsers, parent: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "verify",
        parents=[parent],
        help="check wheels: zip structure, names, tags, METADATA, RECORD hashes and sizes",
        description="Check each wheel's zip structure, .dist-info, WHEEL tags against the "
        "filename, and every RECORD hash and size. Exits 1 when anything is wrong, 3 when a "
        "wheel cannot be read safely.",
    )
    parser.add_argument("wheels", nargs="+", metavar="WHEEL", help="wheel files to check")
    parser.add_argument("--json", action="store_true", help="print JSON (schema version 1)")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace, ctx: Context) -> int:
    workers = usable_cores() if len(args.wheels) > 1 else 1
    results = list(map_in_processes(_verify_one, args.wheels, workers=workers))
    if args.json:
        _render_json(results, ctx)
    else:
        _render_text(results, ctx)
    errors = [result.error for result in results if result.error is not None]
    if errors:  # each reported once: all but the last here, the last by main (exit 3)
        for error in errors[:-1]:
            print(f"manywheel: {describe_error(error)}", file=ctx.stderr)
        raise errors[-1]
    failed = any(result.findings for result in results)
    return ExitCode.FINDINGS if failed else ExitCode.OK


def _verify_one(path: str) -> _Result:
    from manywheel.wheel import WheelArchive, verify_wheel

    try:
        with WheelArchive.open(path) as archive:
            return _Result(path, verify_wheel(archive), _signatures(archive))
    except (InputError, OSError) as e:
        if not (isinstance(e, InputError) or is_environmental(e)):
            raise
        return _Result(path, error=e)


def _signatures(archive: WheelArchive) -> tuple[str, ...]:
    try:
        return archive.signatures
    except InvalidWheelError:  # no single .dist-info: already a finding
        return ()


def _render_text(results: list[_Result], ctx: Context) -> None:
    for result in results:
        if result.error is not None:
            continue
        if not result.findings:
            print(f"{result.path}: {ctx.paint('OK', '32')}", file=ctx.stdout)
        for finding in result.findings:
            label = ctx.paint(finding.kind.label, "1;31")
            print(f"{result.path}: {label}: {finding}", file=ctx.stdout)
        for name in result.signatures:
            print(
                f"{result.path}: note: {name} present; its signature is not checked",
                file=ctx.stdout,
            )


def _json_result(result: _Result) -> dict[str, object]:
    return {
        "path": result.path,
        "ok": result.error is None and not result.findings,
        "error": None if result.error is None else _message(result.error),
        "signatures": list(result.signatures),
        "findings": [
            {
                "kind": finding.kind.label,
                "member": finding.member,
                "expected": finding.expected,
                "found": finding.found,
                "message": finding.message,
            }
            for finding in result.findings
        ],
    }


def _message(error: Exception) -> str:
    return describe_error(error).removeprefix("error: ")


def _render_json(results: list[_Result], ctx: Context) -> None:
    document = {
        "schema_version": JSON_SCHEMA_VERSION,
        "wheels": [_json_result(result) for result in results],
    }
    json.dump(document, ctx.stdout, indent=2)
    ctx.stdout.write("\n")
