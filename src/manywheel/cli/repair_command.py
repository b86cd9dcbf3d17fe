"""``manywheel repair WHEEL...``: auditwheel's ``repair``, same flags and environment."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from manywheel.cli.audit_arguments import audit_options, policies_from
from manywheel.cli.context import Context, Subparsers
from manywheel.cli.exit_codes import describe_error, exit_code_for
from manywheel.cli.repair_arguments import add_repair_arguments, patcher_name, repair_options
from manywheel.cli.repair_text import describe

if TYPE_CHECKING:
    from manywheel.repair import RepairRequest, RepairResult
    from manywheel.report import RepairFailure

__all__ = ["register", "repair_failure"]


def register(subparsers: Subparsers, parent: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "repair",
        parents=[parent],
        help="graft external libraries into wheels, patch and retag them",
        description="Copy the external shared libraries a wheel needs into it under unique "
        "names, patch DT_NEEDED/RPATH/SONAME, retag it, and check the result before writing it. "
        "Exactly one wheel per input is written to the wheel directory; nothing on failure.",
    )
    parser.add_argument("wheels", metavar="WHEEL_FILE", nargs="+", type=Path)
    parser.add_argument(
        "-w",
        "--wheel-dir",
        type=Path,
        default=Path("wheelhouse"),
        help="where the repaired wheels go, created if missing (default: wheelhouse)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print what was done as JSON (schema_version 1)"
    )
    add_repair_arguments(parser)
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace, ctx: Context) -> int:
    from manywheel import __version__
    from manywheel.repair import (
        RepairRequest,
        SystemLicenses,
        SystemPackages,
        make_patcher,
        repair_wheel,
    )

    options = repair_options(args, ctx.environ)
    audit = replace(audit_options(args, ctx.environ), include=tuple(args.include))
    policies = policies_from(args)
    path = ctx.environ.get("PATH")
    patcher = make_patcher(
        patcher_name(args, ctx.environ), [str(Path(sys.executable).parent)], path=path
    )

    # made once for every wheel, and checked before any is read (a bad --plat is refused here)
    request = RepairRequest(
        patcher=patcher,
        options=options,
        audit=audit,
        policies=policies,
        allow_pure=args.allow_pure_python_wheel,
        packages=SystemPackages(audit.root, path=path),
        tool_version=__version__,
        licenses=SystemLicenses(audit.root, path=path),
    )

    def repair(wheel: Path) -> RepairResult:
        return repair_wheel(wheel, args.wheel_dir, request)

    _refuse_same_outputs(args.wheels, request)
    results: list[RepairResult] = []
    for index, wheel in enumerate(args.wheels):
        try:
            result = repair(wheel)
        except (Exception, KeyboardInterrupt) as e:
            # The wheels already written stay written (as auditwheel): say which, then fail.
            if args.json:
                _print_json(ctx, results, repair_failure(wheel, e), args.wheels[index + 1 :])
            raise
        results.append(result)
        if not args.json:
            print(describe(result, verbose=ctx.verbosity >= 1), file=ctx.stdout)
    if args.json:
        _print_json(ctx, results)
    return 0


def repair_failure(wheel: Path, error: BaseException) -> RepairFailure:
    """The failed wheel as ``repair --json`` reports it: the stderr line's text (after
    ``manywheel: ``) and the exit code, from the one function that makes both."""
    from manywheel.report import RepairFailure

    return RepairFailure(wheel, describe_error(error), int(exit_code_for(error)))


def _refuse_same_outputs(wheels: Sequence[Path], request: RepairRequest) -> None:
    """Two inputs that would be written under one name are refused before anything is written
    (one wheel per input, as the README promises). Only inputs whose names differ at most in
    their platform tags can end with one name, so only they are audited twice."""
    from manywheel.errors import InputError, ManywheelError
    from manywheel.repair import repaired_name
    from manywheel.wheel import WheelFilename

    groups: dict[tuple[object, ...], list[Path]] = {}
    for wheel in wheels:
        try:
            name = WheelFilename.parse(wheel.name)
        except InputError:
            continue  # its repair says so in its turn
        key = (name.name, name.version, name.build, name.python_tags, name.abi_tags)
        groups.setdefault(key, []).append(wheel)
    outputs: dict[str, Path] = {}
    for group in (g for g in groups.values() if len(g) > 1):
        for wheel in group:
            try:
                output = repaired_name(wheel, request)
            except (ManywheelError, OSError):
                continue  # its repair fails in its turn, writing nothing
            if output in outputs:
                raise ManywheelError(
                    f"{outputs[output]} and {wheel} would both be written as {output}: "
                    "repair them in separate calls, with separate --wheel-dir"
                )
            outputs[output] = wheel


def _print_json(
    ctx: Context,
    results: list[RepairResult],
    failed: RepairFailure | None = None,
    not_attempted: Sequence[Path] = (),
) -> None:
    from manywheel.report import repair_json

    document = repair_json(results, failed=failed, not_attempted=not_attempted)
    print(json.dumps(document, indent=2), file=ctx.stdout)
