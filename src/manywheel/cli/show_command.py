"""``manywheel show WHEEL...``: what each wheel is, the best tag it can claim as it is and after
repair, and every reason each better tag is refused.

auditwheel's flags and exit codes: 1 for a pure wheel unless ``--allow-pure-python-wheel``, 2
(usage) for a missing file, 0 otherwise; with several wheels, the worst. ``--json`` prints
auditwheel's ``show --json`` document (schema 1) byte for byte, and for several wheels a JSON
list of them; ``--json-details`` prints manywheel's own document (docs/show-json.md).

Several wheels are audited in processes of their own on every usable core, forked once the
policies are loaded (:mod:`manywheel.cli.wheel_pool`); their reports are printed in the order
given.
"""

from __future__ import annotations

import argparse
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from manywheel.cli.audit_arguments import add_audit_arguments, audit_options, policies_from
from manywheel.cli.context import Context, Subparsers
from manywheel.cli.exit_codes import ExitCode
from manywheel.cli.wheel_pool import map_in_processes, usable_cores
from manywheel.errors import InputError, InvalidPolicyError
from manywheel.values import value_class

if TYPE_CHECKING:
    from manywheel.audit import AuditOptions, AuditReport, ElfMember, Refusal
    from manywheel.linker import HostFacts
    from manywheel.policy import PolicySet, PolicyVerdict, Reason

__all__ = ["register"]

#: Wheels at least this big get a progress line on a terminal.
_PROGRESS_BYTES = 16 * 2**20
#: Culprits listed per kind of reason before "... and N more".
_LIST_LIMIT = 6
_UNREADABLE = (InputError, FileNotFoundError, IsADirectoryError, PermissionError)
#: auditwheel's indentation of its ``show --json`` document (6.8's ``json.dumps(indent=4)``).
_AUDITWHEEL_INDENT = 4


@value_class
class _Shared:
    """What every wheel's audit in one process uses: the policies (loaded once) and the
    system's parsed libraries."""

    policies: Callable[[], PolicySet]
    facts: HostFacts


@value_class
class _Shown:
    """One wheel's outcome, made where it was audited (maybe another process), printed here."""

    code: int
    #: The text report (stdout) and the diagnostics (stderr).
    text: str
    errors: str
    #: auditwheel's document (``--json``) and the ``--json-details`` entry, when asked for.
    auditwheel: dict[str, object] | None
    details: dict[str, object]


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
        help="print auditwheel's `show --json` document (schema version 1) as auditwheel does; "
        "for several wheels, a JSON list of them",
    )
    output.add_argument(
        "--json-details",
        action="store_true",
        help="print manywheel's full report as JSON (manywheel-show, schema version 1)",
    )
    add_audit_arguments(parser)
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace, ctx: Context) -> int:
    missing = [w for w in args.wheels if not Path(w).is_file()]
    if missing:  # auditwheel: parser.error, before any work
        for path in missing:
            print(f"manywheel show: error: cannot access {path}. No such file", file=ctx.stderr)
        return ExitCode.USAGE
    options = audit_options(args, ctx.environ)
    if args.json:  # auditwheel's document says nothing of these: no work for them
        options = replace(options, python_abi=False, verify_record=False)
    loaded: list[PolicySet] = []

    def policies() -> PolicySet:
        """Loaded once: while the first wheel streams, or before the workers fork."""
        if not loaded:
            loaded.append(policies_from(args))
        return loaded[0]

    several = len(args.wheels) > 1
    workers = usable_cores() if several else 1
    if workers > 1:
        policies()
    from manywheel.linker import HostFacts

    # each forked worker keeps its own copy, for the wheels it audits
    shared = _Shared(policies, HostFacts())

    def show(path: str) -> _Shown:
        return _show_one(path, args, ctx, options, shared, progress=not several)

    shown = []
    for index, one in enumerate(map_in_processes(show, args.wheels, workers=workers)):
        if index and not (args.json or args.json_details):
            _out(ctx)  # a blank line between wheels
        ctx.stdout.write(one.text)
        ctx.stderr.write(one.errors)
        shown.append(one)
    if args.json:
        documents = [one.auditwheel for one in shown]
        output = documents if several else documents[0]
        ctx.stdout.write(json.dumps(output, indent=_AUDITWHEEL_INDENT) + "\n")
    if args.json_details:
        from manywheel.report import details_document

        json.dump(details_document([one.details for one in shown]), ctx.stdout, indent=2)
        ctx.stdout.write("\n")
    return max(one.code for one in shown)


def _show_one(
    path: str,
    args: argparse.Namespace,
    ctx: Context,
    options: AuditOptions,
    shared: _Shared,
    *,
    progress: bool,
) -> _Shown:
    """Audit one wheel and render what was asked for into a :class:`_Shown` (the progress line
    alone, with ``progress``, goes to ``ctx.stderr`` as it happens)."""
    out = Context(io.StringIO(), io.StringIO(), ctx.environ, ctx.verbosity, ctx.color)
    assert isinstance(out.stdout, io.StringIO) and isinstance(out.stderr, io.StringIO)
    code, document, details = _audit_and_render(path, args, out, ctx, options, shared, progress)
    return _Shown(code, out.stdout.getvalue(), out.stderr.getvalue(), document, details)


def _audit_and_render(  # noqa: PLR0917 - the parts of one command's run
    path: str,
    args: argparse.Namespace,
    ctx: Context,
    terminal: Context,
    options: AuditOptions,
    shared: _Shared,
    progress: bool,
) -> tuple[int, dict[str, object] | None, dict[str, object]]:
    from manywheel.audit import audit_wheel, pure_message
    from manywheel.report import auditwheel_error, auditwheel_json, auditwheel_pure

    name = Path(path).name
    shown = _progress(path, name, terminal) if progress else None
    try:
        report = audit_wheel(
            path, policies=shared.policies, options=options, progress=shown, facts=shared.facts
        )
    except InvalidPolicyError:
        raise  # not about this wheel: main reports it once
    except _UNREADABLE as e:
        print(f"manywheel: error: {e}", file=ctx.stderr)
        document = auditwheel_error(name, str(e)) if args.json else None
        return ExitCode.INPUT, document, {"wheel": name, "path": path, "error": str(e)}
    if report.verdict is None:
        message = pure_message(report.arch, (i.member for i in report.ignored))
        ok = args.allow_pure_python_wheel and "any" in report.filename.platform_tags
        document = None
        if args.json:
            document = auditwheel_pure(name) if ok else auditwheel_error(name, message)
        elif not args.json_details:
            _render_pure(report, name, message, ok, ctx)
        code = ExitCode.OK if ok else ExitCode.FINDINGS
        return code, document, _details(report, name, args)
    document = None
    if args.json:
        document = auditwheel_json(report, name)
    elif not args.json_details:
        _render(report, name, ctx)
    return ExitCode.OK, document, _details(report, name, args)


def _details(report: AuditReport, name: str, args: argparse.Namespace) -> dict[str, object]:
    """The wheel's ``--json-details`` entry; only built (and its renderer loaded) when asked."""
    if not args.json_details:
        return {}
    from manywheel.report import details_json

    return details_json(report, name)


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


# --- text --------------------------------------------------------------------------------------


def _out(ctx: Context, text: str = "") -> None:
    print(text, file=ctx.stdout)


def _render_pure(report: AuditReport, name: str, message: str, ok: bool, ctx: Context) -> None:
    from manywheel.report import pure_facts

    facts = pure_facts(report)
    tags = ".".join(report.filename.python_tags)
    universal = "universal, " if facts["universal"] else ""
    _out(ctx, f"{ctx.paint(name, '1')}: pure Python wheel ({universal}Python tags {tags})")
    for ignored in report.ignored:
        _out(ctx, f"  ignored {ignored.member}: {ignored.reason}")
    if not ok:
        print(f"manywheel show: {message}", file=ctx.stderr)
    _render_findings(report, ctx)


def _tag_text(verdict: PolicyVerdict, ctx: Context, good: bool) -> str:
    aliases = f" (+ {', '.join(verdict.alias_tags)})" if verdict.alias_tags else ""
    return ctx.paint(verdict.tag, "1;32" if good else "1;33") + aliases


def _render(report: AuditReport, name: str, ctx: Context) -> None:
    best, after = report.best, report.best_after_repair
    assert best is not None and after is not None
    generic = best.policy.is_generic
    _out(
        ctx,
        f"{ctx.paint(name, '1')}: as it is: {_tag_text(best, ctx, not generic)}; "
        f"after repair: {_tag_text(after, ctx, not after.policy.is_generic)}",
    )
    libc = "" if report.libc is None else f", {report.libc.value}"
    members = _plural(len(report.members), "ELF member", "ELF members")
    _out(ctx, f"  {report.arch}{libc}; {members}")
    for holdout in report.holdouts:
        _out(
            ctx,
            f"  {ctx.paint('held back by one file', '1;31')}: {holdout.member} alone keeps the "
            f"wheel at {holdout.with_it} after repair; without it: {holdout.without_it}",
        )
    _render_python_abi(report, ctx)
    _render_refusals(report, ctx)
    _render_grafts(report, ctx)
    _render_members(report, ctx)
    _render_findings(report, ctx)


def _render_python_abi(report: AuditReport, ctx: Context) -> None:
    """The Python tag's verdict, kept apart from the platform tag's."""
    verdict = report.python_abi
    if verdict is None:
        return
    tags = ".".join(dict.fromkeys(verdict.tags))
    needs = "" if verdict.needed is None else f"; symbols need the Stable ABI {_v(verdict.needed)}"
    state = ctx.paint("ok", "1;32") if verdict.ok else ctx.paint("broken", "1;31")
    _out(ctx, f"  Python tag {tags}: {state}{needs}")
    if verdict.honest_tags:
        _out(ctx, f"    it could honestly claim {', '.join(verdict.honest_tags)}")
    for problem in verdict.problems:
        _out(ctx, f"    {ctx.paint(problem.kind.value, '31')}: {problem.message}")
    for note in verdict.notes:
        _out(ctx, f"    note: {note.message}")


def _v(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def _render_refusals(report: AuditReport, ctx: Context) -> None:
    from manywheel.audit import refusals

    found = refusals(report)
    if not found:
        _out(ctx, "\n  No better tag exists for this wheel's libc and architecture.")
        return
    _out(ctx, "\n" + ctx.paint("Why not a better tag", "1"))
    for refusal in found:
        _out(ctx, f"  {_tag_range(refusal.tags)}{_repair_note(refusal)}:")
        for kind, reasons in refusal.kinds:
            versioned = all(r.version and r.library for r in reasons)
            lines = _by_version(reasons) if versioned else [_reason_text(r) for r in reasons]
            fix = " (a repair fixes this)" if kind.repairable else ""
            _out(ctx, f"    {ctx.paint(kind.value, '31')}{fix}:")
            for line in _abbreviated(lines):
                _out(ctx, f"      {line}")


def _tag_range(tags: tuple[str, ...]) -> str:
    if len(tags) == 1:
        return tags[0]
    return f"{tags[0]} … {tags[-1]} ({len(tags)} tags)"


def _repair_note(refusal: Refusal) -> str:
    return " — reachable by repair" if refusal.repairable else ""


def _reason_text(reason: Reason) -> str:
    if reason.file is None:
        return reason.message
    who = f"{reason.file} (grafted)" if reason.grafted else reason.file
    parts = [who]
    if reason.library:
        parts.append(f"needs {reason.library}")
    if reason.version:
        parts.append(reason.version)
    text = " ".join(parts)
    if reason.symbols:
        text += f" for {_few(reason.symbols)}"
    return text if reason.library or reason.version else reason.message


def _by_version(reasons: tuple[Reason, ...]) -> list[str]:
    """One line per (library, version), newest version first: the files needing it and the
    symbols that need it."""
    groups: dict[tuple[str, str], list[Reason]] = {}
    for reason in reasons:
        groups.setdefault((reason.library or "", reason.version or ""), []).append(reason)
    lines = []
    for (library, version), group in sorted(groups.items(), key=_newest_first):
        files = tuple(dict.fromkeys(f"{r.file} (grafted)" if r.grafted else str(r.file)
                                    for r in group))  # fmt: skip
        symbols = tuple(dict.fromkeys(s for r in group for s in r.symbols))
        needed = f" for {_few(symbols)}" if symbols else ""
        lines.append(f"{version} from {library}: {_few(files, 2)}{needed}")
    return lines


def _newest_first(item: tuple[tuple[str, str], list[Reason]]) -> tuple[str, tuple[int, ...]]:
    (_, version), _ = item
    numbers = tuple(-int(n) for n in re.findall(r"\d+", version))
    return (version.split("_")[0], numbers)


def _few(items: tuple[str, ...], limit: int = 3) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def _abbreviated(lines: Iterable[str]) -> list[str]:
    unique = list(dict.fromkeys(lines))
    if len(unique) <= _LIST_LIMIT:
        return unique
    return [*unique[:_LIST_LIMIT], f"… and {len(unique) - _LIST_LIMIT} more"]


def _render_grafts(report: AuditReport, ctx: Context) -> None:
    from manywheel.audit import grafts_by_policy

    groups = grafts_by_policy(report)
    if not groups:
        return
    paths = {e.soname: e.realpath for e in report.external}
    _out(ctx, "\n" + ctx.paint("A repair would carry in", "1"))
    for group in groups:
        _out(ctx, f"  for {_tag_range(group.tags)}:")
        for soname in group.grafts:
            _out(ctx, f"    {soname} ← {paths.get(soname) or 'not found'}")


def _render_members(report: AuditReport, ctx: Context) -> None:
    verdicts = report.verdict.applicable if report.verdict else ()
    notable = {g for v in verdicts for g in v.grafts} | {
        r.library for v in verdicts for r in v.reasons if r.kind.value == "library-not-found"
    }
    _out(ctx, "\n" + ctx.paint("ELF members", "1"))
    hidden = absent = 0
    for member in report.members:
        _out(ctx, f"  {member.role.value:<10} {member.member}{_member_flags(member)}")
        for needed in member.needed:
            missing = needed.where.value == "not-found"
            if needed.soname not in notable and ctx.verbosity < 1:
                hidden += 1
                absent += missing
                continue
            where = needed.path or ""
            rule = f" [{needed.rule}]" if needed.rule and needed.rule != needed.where.value else ""
            bad = missing and needed.soname in notable
            label = ctx.paint(needed.where.value, "31" if bad else "2")
            _out(ctx, f"    └ {needed.soname} → {label} {where}{rule}".rstrip())
        if member.foreign_rpaths:
            entries = ", ".join(member.foreign_rpaths)
            _out(ctx, f"    ! RPATH/RUNPATH entries outside the wheel: {entries}")
        for failure in member.version_failures:
            _out(ctx, f"    ! {failure.message}")
    if hidden:
        _out(ctx, f"  ({_plural(hidden, 'more library', 'more libraries')} found in the wheel "
                  "or allowed by the policies; -v lists them)")  # fmt: skip
    if absent:
        _out(ctx, f"  ({_plural(absent, 'allowed library', 'allowed libraries')} not found on "
                  "this system, as expected for a wheel built for another architecture or libc; "
                  "not held against the wheel)")  # fmt: skip
    for ignored in report.ignored:
        _out(ctx, f"  ignored    {ignored.member}: {ignored.reason}")


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _member_flags(member: ElfMember) -> str:
    flags = []
    level = member.elf.x86_isa_level
    if level is not None and int(level) > 1:
        flags.append(f"x86-64-v{int(level)}")
    if member.elf.executable_stack:
        flags.append("executable stack")
    if member.libpython:
        flags.append(f"links {member.libpython}")
    if member.low_alignment:
        page = "16 KiB" if member.tree.flavor.value == "bionic" else "64 KiB"
        flags.append(f"LOAD alignment {member.elf.load_alignment:#x} < {page} pages")
    return f"  [{'; '.join(flags)}]" if flags else ""


def _render_findings(report: AuditReport, ctx: Context) -> None:
    if report.purelib_elves:
        _out(ctx, "\n" + ctx.paint("ELF files in purelib (a repair refuses them)", "1;31"))
        for member in report.purelib_elves:
            _out(ctx, f"  {member}")
    if not report.findings:
        return
    _out(ctx, "\n" + ctx.paint("Container findings (RECORD, tags, metadata)", "1;31"))
    for finding in report.findings:
        _out(ctx, f"  {finding.kind.label}: {finding}")
