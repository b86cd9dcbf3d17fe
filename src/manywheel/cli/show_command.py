"""``manywheel show WHEEL...``: what each wheel is, the best tag it can claim as it is and after
repair, and every reason each better tag is refused.

auditwheel's flags and exit codes: 1 for a pure wheel unless ``--allow-pure-python-wheel``, 3
for a file that cannot be read (auditwheel: 2; README, "Exit codes compared with
auditwheel's"), 0 otherwise; with several wheels, the worst. The text is
:mod:`manywheel.cli.show_text`. ``--json`` prints
auditwheel's ``show --json`` document (schema 1), one line per wheel; ``--json-details`` prints
manywheel's own document (docs/show-json.md).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from manywheel.cli.audit_arguments import add_audit_arguments, audit_options, policies_from
from manywheel.cli.context import Context, Subparsers
from manywheel.cli.demangle import Demangler
from manywheel.cli.exit_codes import ExitCode, describe_error, is_environmental
from manywheel.cli.show_text import render, render_pure
from manywheel.errors import InputError, InvalidPolicyError

if TYPE_CHECKING:
    from manywheel.audit import AuditOptions, AuditReport
    from manywheel.policy import PolicySet

__all__ = ["register"]

#: Wheels at least this big get a progress line on a terminal.
_PROGRESS_BYTES = 16 * 2**20


def register(subparsers: Subparsers, parent: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "show",
        parents=[parent],
        help="audit wheels: the tag each can claim as it is and after repair, and why not better",
        description="Audit each wheel for external shared library dependencies: every ELF "
        "member, how each library it needs resolves, the best tag the wheel can claim as it "
        "is and after repair, and every reason a better tag is refused.",
    )
    parser.add_argument("wheels", nargs="+", metavar="WHEEL", help="wheel files to audit")
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--json",
        action="store_true",
        help="print auditwheel's `show --json` document (schema version 1), one line per wheel",
    )
    output.add_argument(
        "--json-details",
        action="store_true",
        help="print manywheel's full report as JSON (manywheel-show, schema version 1)",
    )
    add_audit_arguments(parser)
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace, ctx: Context) -> int:
    options = audit_options(args, ctx.environ)
    demangle = Demangler(path=ctx.environ.get("PATH"))
    loaded: list[PolicySet] = []

    def policies() -> PolicySet:
        """Loaded once, while the first wheel streams."""
        if not loaded:
            loaded.append(policies_from(args))
        return loaded[0]

    codes, entries = [], []
    for index, path in enumerate(args.wheels):
        if index and not (args.json or args.json_details):
            print(file=ctx.stdout)  # a blank line between wheels
        code, entry = _show_one(path, args, ctx, options, policies, demangle=demangle)
        codes.append(code)
        entries.append(entry)
    if args.json_details:
        from manywheel.report import details_document

        json.dump(details_document(entries), ctx.stdout, indent=2)
        ctx.stdout.write("\n")
    return max(codes)


def _show_one(
    path: str,
    args: argparse.Namespace,
    ctx: Context,
    options: AuditOptions,
    policies: Callable[[], PolicySet],
    *,
    demangle: Demangler,
) -> tuple[int, dict[str, object]]:
    from manywheel.audit import audit_wheel, pure_message
    from manywheel.report import auditwheel_error, auditwheel_json, auditwheel_pure

    name = Path(path).name
    try:
        report = audit_wheel(
            path, policies=policies, options=options, progress=_progress(path, name, ctx)
        )
    except InvalidPolicyError:
        raise  # not about this wheel: main reports it once
    except (InputError, OSError) as e:
        if not (isinstance(e, InputError) or is_environmental(e)):
            raise
        message = describe_error(e).removeprefix("error: ")
        print(f"manywheel: error: {message}", file=ctx.stderr)
        if args.json:
            _line(auditwheel_error(name, message), ctx)
        return ExitCode.INPUT, {"wheel": name, "path": path, "error": message}
    if report.verdict is None:
        message = pure_message(report.arch, (i.member for i in report.ignored))
        ok = args.allow_pure_python_wheel and "any" in report.filename.platform_tags
        if args.json:
            _line(auditwheel_pure(name) if ok else auditwheel_error(name, message), ctx)
        elif not args.json_details:
            render_pure(report, name, message, ok, ctx)
        return (ExitCode.OK if ok else ExitCode.FINDINGS), _details(report, name, args, demangle)
    if args.json:
        _line(auditwheel_json(report, name), ctx)
    elif not args.json_details:
        render(report, name, ctx, options=options, demangle=demangle)
    return ExitCode.OK, _details(report, name, args, demangle)


def _details(
    report: AuditReport, name: str, args: argparse.Namespace, demangle: Demangler
) -> dict[str, object]:
    """The wheel's ``--json-details`` entry, with the demangled form of every C++ symbol it
    names; only built when asked for."""
    from manywheel.report import details_json, symbols_of

    if not args.json_details:
        return {}
    return details_json(report, name, demangled=demangle.demangle(symbols_of(report)))


def _line(document: dict[str, object], ctx: Context) -> None:
    ctx.stdout.write(json.dumps(document) + "\n")


def _progress(path: str, name: str, ctx: Context) -> Callable[[int, int], None] | None:
    isatty = getattr(ctx.stderr, "isatty", None)
    if not (isatty and isatty()) or Path(path).stat().st_size < _PROGRESS_BYTES:
        return None

    def report(done: int, total: int) -> None:
        percent = 100 * done // max(total, 1)
        end = "\n" if done >= total else ""
        ctx.stderr.write(f"\r{name}: reading {percent:3d}%{end}")
        ctx.stderr.flush()

    return report
