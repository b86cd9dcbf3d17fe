"""``manywheel show``'s text: read at a glance, details below or with ``-v``.

In order: the verdict (as it is, after repair); what the wheel is (architecture, libc, its ELF
members by role); what the filename claims falsely, in words; a single file that holds the wheel
back; the Python tag. Then why not a better tag: each reason stated once with the tags it keeps
out (a version needed by seven policies' worth of symbols is one line, not seven), those that
bind the wheel to its tag first, the rest counted unless ``-v``; for a library not found, where
it was looked for and what changes that. Then what a repair carries in, the ELF members that
have something to say (the others counted), and the container's findings. C++ symbol names
are demangled.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from manywheel.cli.context import Context
from manywheel.cli.demangle import Demangler

if TYPE_CHECKING:
    from manywheel.audit import AuditOptions, AuditReport, Culprit, ElfMember
    from manywheel.policy import PolicyVerdict, Reason

__all__ = ["render", "render_pure", "search_note"]

#: Lines of one kind shown before "... and N more".
_LINES = 6
_BOLD, _RED, _GREEN, _YELLOW, _DIM = "1", "1;31", "1;32", "1;33", "2"
#: Kinds whose reasons are about one version of one library, across files.
_VERSIONED = frozenset(
    {"version-too-new", "version-not-provided", "version-unknown-namespace", "version-private"}
)


def _out(ctx: Context, text: str = "") -> None:
    print(text, file=ctx.stdout)


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _few(items: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def _tag_range(tags: Sequence[str]) -> str:
    """Tags in the verdict's order (the most compatible first)."""
    if len(tags) == 1:
        return tags[0]
    return f"{tags[0]} … {tags[-1]} ({len(tags)} tags)"


# -- the head --------------------------------------------------------------------------------------


def _tag_text(verdict: PolicyVerdict, ctx: Context) -> str:
    aliases = f" (+ {', '.join(verdict.alias_tags)})" if verdict.alias_tags else ""
    color = _YELLOW if verdict.policy.is_generic else _GREEN
    return ctx.paint(verdict.tag, color) + aliases


def _members_line(report: AuditReport) -> str:
    roles: dict[str, int] = {}
    for member in report.members:
        roles[member.role.value] = roles.get(member.role.value, 0) + 1
    kinds = ", ".join(_plural(n, role, "libraries" if role == "library" else None)
                      for role, n in roles.items())  # fmt: skip
    libc = "" if report.libc is None else f", {report.libc.value}"
    ignored = f"; {_plural(len(report.ignored), 'ELF member')} of another architecture ignored"
    return f"  {report.arch}{libc}; {_plural(len(report.members), 'ELF member')} ({kinds})" + (
        ignored if report.ignored else ""
    )


def render(
    report: AuditReport,
    name: str,
    ctx: Context,
    *,
    options: AuditOptions,
    demangle: Demangler,
) -> None:
    """The report of a platform wheel."""
    from manywheel.audit import false_claims

    best, after = report.best, report.best_after_repair
    assert best is not None and after is not None
    _out(
        ctx,
        f"{ctx.paint(name, _BOLD)}: as it is: {_tag_text(best, ctx)}; "
        f"after repair: {_tag_text(after, ctx)}",
    )
    _out(ctx, _members_line(report))
    for claim in false_claims(report):
        _out(ctx, "  " + ctx.paint(claim.message, _RED))
    for holdout in report.holdouts:
        _out(
            ctx,
            f"  {ctx.paint('held back by one file', _RED)}: {holdout.member} alone keeps the "
            f"wheel at {holdout.with_it} after repair; without it: {holdout.without_it}",
        )
    _render_python_abi(report, ctx)
    _Refusals(report, ctx, options, demangle).render()
    _render_grafts(report, ctx)
    _render_members(report, ctx)
    render_findings(report, ctx)


def _render_python_abi(report: AuditReport, ctx: Context) -> None:
    """The Python tag's verdict, kept apart from the platform tag's."""
    verdict = report.python_abi
    if verdict is None:
        return
    tags = ".".join(dict.fromkeys(verdict.tags))
    needed = verdict.needed
    needs = "" if needed is None else f"; symbols need the Stable ABI {needed[0]}.{needed[1]}"
    state = ctx.paint("ok", _GREEN) if verdict.ok else ctx.paint("broken", _RED)
    _out(ctx, f"  Python tag {tags}: {state}{needs}")
    if verdict.honest_tags:
        _out(ctx, f"    it could honestly claim {', '.join(verdict.honest_tags)}")
    for problem in verdict.problems:
        _out(ctx, f"    {ctx.paint(problem.kind.value, '31')}: {problem.message}")
    for note in verdict.notes:
        _out(ctx, f"    note: {note.message}")


def render_pure(report: AuditReport, name: str, message: str, ok: bool, ctx: Context) -> None:
    from manywheel.report import pure_facts

    facts = pure_facts(report)
    tags = ".".join(report.filename.python_tags)
    universal = "universal, " if facts["universal"] else ""
    _out(ctx, f"{ctx.paint(name, _BOLD)}: pure Python wheel ({universal}Python tags {tags})")
    for ignored in report.ignored:
        _out(ctx, f"  ignored {ignored.member}: {ignored.reason}")
    if not ok:
        print(f"manywheel show: {message}", file=ctx.stderr)
    render_findings(report, ctx)


# -- why not a better tag --------------------------------------------------------------------------


@dataclass(slots=True)
class _Item:
    """Reasons shown as one line: one version of one library (whatever files need it), or one
    file's reasons of one kind."""

    kind: str
    repairable: bool
    tags: list[str] = field(default_factory=list)
    binding: bool = False
    reasons: list[Reason] = field(default_factory=list)


def _item_key(reason: Reason) -> tuple[str, ...]:
    if reason.kind.value in _VERSIONED and reason.version and reason.library:
        return (reason.kind.value, reason.library, reason.version)
    if reason.kind.value in ("library-not-found", "not-whitelisted") and reason.file:
        return (reason.kind.value, reason.file, str(reason.grafted))
    return (reason.kind.value, reason.message if reason.file is None else reason.file)


def _items(found: Iterable[Culprit]) -> list[_Item]:
    items: dict[tuple[str, ...], _Item] = {}
    for culprit in found:
        reason = culprit.reason
        item = items.setdefault(_item_key(reason), _Item(reason.kind.value, reason.repairable))
        item.tags.extend(t for t in culprit.tags if t not in item.tags)
        item.binding = item.binding or culprit.binding
        item.reasons.append(reason)
    return list(items.values())


def _version_order(item: _Item) -> tuple[int, ...]:
    version = item.reasons[0].version or ""
    return tuple(-int(n) for n in re.findall(r"\d+", version))


class _Refusals:
    """The "Why not a better tag" section."""

    def __init__(
        self, report: AuditReport, ctx: Context, options: AuditOptions, demangle: Demangler
    ) -> None:
        from manywheel.audit import culprits

        self.report, self.ctx, self.options, self.demangle = report, ctx, options, demangle
        assert report.verdict is not None and report.best is not None
        best = report.best.policy.priority
        self.better = [v.tag for v in report.verdict.applicable if v.policy.priority > best]
        items = _items(culprits(report))
        self.items = sorted(items, key=lambda i: (not i.binding, -len(i.tags), _version_order(i)))

    def render(self) -> None:
        ctx = self.ctx
        if not self.better:
            _out(ctx, "\n  No better tag exists for this wheel's libc and architecture.")
            return
        _out(ctx, "\n" + ctx.paint("Why not a better tag", _BOLD))
        shown = self.items if ctx.verbosity >= 1 else [i for i in self.items if i.binding]
        symbols = [s for i in shown for r in i.reasons for s in r.symbols]
        self.demangle.demangle(symbols)
        scopes: dict[tuple[str, ...], list[_Item]] = {}
        for item in shown:
            scopes.setdefault(tuple(item.tags), []).append(item)
        for tags, items in scopes.items():
            _out(ctx, f"  {self._scope(tags)}:")
            for kind in dict.fromkeys(i.kind for i in items):
                self._kind(kind, [i for i in items if i.kind == kind])
                if kind == "library-not-found":
                    self._not_found_hint([i for i in items if i.kind == kind])
        rest = [i for i in self.items if i not in shown]
        if rest:
            versions = list(
                dict.fromkeys(str(i.reasons[0].version) for i in rest if i.kind in _VERSIONED)
            )
            named = f": {_few(versions, 6)}" if versions else ""
            _out(
                ctx,
                f"  ({_plural(len(rest), 'more reason')} "
                f"{'keeps' if len(rest) == 1 else 'keep'} out only older tags{named}; "
                "-v lists them)",
            )

    def _scope(self, tags: tuple[str, ...]) -> str:
        if len(tags) == len(self.better):
            return f"every better tag: {_tag_range(tags)}" if len(tags) > 1 else tags[0]
        ordered = [t for t in self.better if t in tags]
        worst = self.better[0]
        if ordered and ordered[0] == worst and len(ordered) > 1:
            return f"{ordered[-1]} and older ({len(ordered)} tags)"
        return _tag_range(ordered)

    def _kind(self, kind: str, items: list[_Item]) -> None:
        ctx = self.ctx
        fix = " (a repair fixes this)" if items[0].repairable else ""
        lines = [self._line(i) for i in items]
        _out(ctx, f"    {ctx.paint(kind, '31')}{fix}:")
        limit = len(lines) if ctx.verbosity >= 1 else _LINES
        for line in lines[:limit]:
            _out(ctx, f"      {line}")
        if len(lines) > limit:
            _out(ctx, f"      … and {len(lines) - limit} more (-v lists them)")

    def _symbols(self, reasons: Iterable[Reason]) -> str:
        names = tuple(dict.fromkeys(self.demangle(s) for r in reasons for s in r.symbols))
        return f" for {_few(names)}" if names else ""

    def _line(self, item: _Item) -> str:
        first = item.reasons[0]
        files = tuple(dict.fromkeys(
            f"{r.file} (grafted)" if r.grafted else str(r.file) for r in item.reasons if r.file
        ))  # fmt: skip
        if item.kind in _VERSIONED and first.version:
            needs = self._symbols(item.reasons)
            return f"{first.version} from {first.library}: {_few(files, 2)}{needs}"
        if item.kind in ("library-not-found", "not-whitelisted") and first.file:
            libraries = ", ".join(dict.fromkeys(str(r.library) for r in item.reasons))
            who = f"{first.file} (grafted)" if first.grafted else first.file
            state = ": not found" if item.kind == "library-not-found" else ""
            return f"{who} needs {libraries}{state}"
        return first.message + self._symbols(item.reasons)

    def _not_found_hint(self, shown: list[_Item]) -> None:
        """Where each library not found was looked for, and the options that change that."""
        missing = [r for i in shown if i.kind == "library-not-found" for r in i.reasons]
        if not missing:
            return
        ctx = self.ctx
        by_file = {m.member: m for m in self.report.members}
        for requester in dict.fromkeys(r.file for r in missing if r.file in by_file):
            assert requester is not None
            note = search_note(by_file[requester], self.options)
            _out(ctx, f"      {requester} looked in {note}")
        names = " ".join(f"--exclude {n}" for n in dict.fromkeys(str(r.library) for r in missing))
        _out(
            ctx,
            "      to look elsewhere: AUDITWHEEL_LD_LIBRARY_PATH=DIR adds DIR, --ldpaths replaces "
            f"the system's directories; to leave them out of a repair: {names}; if another "
            "wheel installs them: repair --from-wheel 'GLOB=DIST:DIR'",
        )


def search_note(member: ElfMember, options: AuditOptions) -> str:
    """Where the loader looks for ``member``'s libraries, as the user can change it."""
    elf = member.elf
    parts = []
    if elf.rpath and not elf.runpath:
        parts.append(f"its DT_RPATH {':'.join(elf.rpath)}")
    if options.ld_library_path:
        parts.append(f"LD_LIBRARY_PATH {':'.join(options.ld_library_path)}")
    if elf.runpath:
        parts.append(f"its DT_RUNPATH {':'.join(elf.runpath)}")
    if options.extra_ldpaths:
        parts.append(f"AUDITWHEEL_LD_LIBRARY_PATH {':'.join(options.extra_ldpaths)}")
    if options.system_ldpaths is not None:
        parts.append(f"--ldpaths {':'.join(options.system_ldpaths) or '(none)'}")
    else:
        where = "" if options.root == "/" else f" of --root {options.root}"
        parts.append(f"the system's directories{where} (ld.so.cache, ld.so.conf, /lib, /usr/lib)")
    return ", then ".join(parts)


# -- grafts, members, findings ---------------------------------------------------------------------


def _render_grafts(report: AuditReport, ctx: Context) -> None:
    from manywheel.audit import grafts_by_policy

    groups = grafts_by_policy(report)
    if not groups:
        return
    paths = {e.soname: e.realpath for e in report.external}
    _out(ctx, "\n" + ctx.paint("A repair would carry in", _BOLD))
    for group in groups:
        _out(ctx, f"  for {_tag_range(group.tags)}:")
        for soname in group.grafts:
            _out(ctx, f"    {soname} ← {paths.get(soname) or 'not found'}")


def _notable(report: AuditReport) -> dict[str, set[str]]:
    """Per member, the libraries worth a line: those a repair grafts for it, and those not
    found that a policy holds against it."""
    verdicts = report.verdict.applicable if report.verdict else ()
    grafted = {g for v in verdicts for g in v.grafts}
    out: dict[str, set[str]] = {}
    for verdict in verdicts:
        for reason in verdict.reasons:
            if reason.kind.value == "library-not-found" and reason.file and reason.library:
                out.setdefault(reason.file, set()).add(reason.library)
    for member in report.members:
        for needed in member.needed:
            if needed.soname in grafted and needed.where.value == "system":
                out.setdefault(member.member, set()).add(needed.soname)
    return out


def _member_flags(member: ElfMember) -> list[str]:
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
    return flags


def _render_members(report: AuditReport, ctx: Context) -> None:
    notable = _notable(report)
    verbose = ctx.verbosity >= 1
    _out(ctx, "\n" + ctx.paint("ELF members", _BOLD))
    quiet = absent = 0
    for member in report.members:
        absent += sum(
            n.where.value == "not-found" and n.soname not in notable.get(member.member, ())
            for n in member.needed
        )
        flags = _member_flags(member)
        mine = notable.get(member.member, set())
        failures = member.version_failures
        if not (verbose or flags or mine or failures):
            quiet += 1
            continue
        shown_flags = f"  [{'; '.join(flags)}]" if flags else ""
        _out(ctx, f"  {member.role.value:<10} {member.member}{shown_flags}")
        for needed in member.needed:
            if not verbose and needed.soname not in mine:
                continue
            where = needed.path or ""
            rule = f" [{needed.rule}]" if needed.rule and needed.rule != needed.where.value else ""
            label = ctx.paint(needed.where.value, "31" if needed.soname in mine else _DIM)
            _out(ctx, f"    └ {needed.soname} → {label} {where}{rule}".rstrip())
        if verbose and member.foreign_rpaths:
            _out(ctx, f"    ! RPATH/RUNPATH outside the wheel: {', '.join(member.foreign_rpaths)}")
        for failure in failures:
            _out(ctx, f"    ! {failure.message}")
    if quiet:
        more = "more " if quiet < len(report.members) else ""
        _out(
            ctx,
            f"  ({_plural(quiet, more + 'member')} with nothing to report: every library "
            "they need is in the wheel or on the whitelists; -v lists them)",
        )
    if absent:
        _out(
            ctx,
            f"  ({_plural(absent, 'library', 'libraries')} on the whitelists not found on this "
            "system, as expected for a wheel built for another architecture or libc; not held "
            "against the wheel)",
        )
    _render_foreign_rpaths(report, ctx, verbose)
    for ignored in report.ignored:
        _out(ctx, f"  ignored    {ignored.member}: {ignored.reason}")


def _render_foreign_rpaths(report: AuditReport, ctx: Context, verbose: bool) -> None:
    """RPATH/RUNPATH entries that lead outside the wheel, once for every file that has them
    (a build machine's paths repeat in every file of a project)."""
    if verbose:
        return
    entries: dict[tuple[str, ...], list[str]] = {}
    for member in report.members:
        if member.foreign_rpaths:
            entries.setdefault(member.foreign_rpaths, []).append(member.member)
    for rpaths, members in entries.items():
        _out(
            ctx,
            f"  {_plural(len(members), 'file')} ({_few(members, 2)}) with RPATH/RUNPATH "
            f"entries outside the wheel: {', '.join(rpaths)} (a repair removes them)",
        )


def render_findings(report: AuditReport, ctx: Context) -> None:
    if report.purelib_elves:
        _out(ctx, "\n" + ctx.paint("ELF files in purelib (a repair refuses them)", _RED))
        for member in report.purelib_elves:
            _out(ctx, f"  {member}")
    if not report.findings:
        return
    _out(ctx, "\n" + ctx.paint("Container findings (RECORD, tags, metadata)", _RED))
    for finding in report.findings:
        _out(ctx, f"  {finding.kind.label}: {finding}")
