"""``plan_repair``: from an audit report to what a repair will do — which libraries to graft and
under which names, which member gets which ELF edits, the tags to claim. Pure: the only outside
input is ``digest`` (the sha256 of a file to graft, given its path on this machine), passed in by
the caller."""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace

from manywheel.audit import (
    INCLUDE_REQUESTER,
    AuditOptions,
    AuditReport,
    ElfMember,
    installed_path,
)
from manywheel.errors import ManywheelError
from manywheel.linker import RootFileSystem
from manywheel.policy import (
    Libc,
    PolicySet,
    PolicyVerdict,
    Reason,
    ReasonKind,
    Verdict,
    WheelRequirements,
    is_libpython,
)
from manywheel.repair.options import RepairOptions, WheelProvided
from manywheel.repair.patcher import ElfEdits
from manywheel.values import value_class
from manywheel.wheel import is_script

__all__ = [
    "Graft",
    "MemberPatch",
    "RepairPlan",
    "RepairRefusedError",
    "excluded_sonames",
    "plan_repair",
    "rpath_cleanup_members",
    "without_libraries",
]


class RepairRefusedError(ManywheelError):
    """The wheel cannot be repaired to the requested (or any) policy; the message says why."""


@value_class
class Graft:
    """A library copied into the wheel."""

    #: The names it was needed by (usually one soname).
    sonames: tuple[str, ...]
    #: Its path on the system (inside ``--root`` when there is one).
    source: str
    #: Its new file name and SONAME: ``<base>-<8 hex of sha256>.<rest>``.
    name: str
    #: Its path inside the repaired wheel.
    member: str
    edits: ElfEdits
    #: Named by ``--include`` (loaded with dlopen): the program must load it from ``member``.
    included: bool = False
    #: Where this machine reads ``source``: below ``--root``; ``None`` means ``source`` itself.
    host_path: str | None = None

    @property
    def file(self) -> str:
        """The file to copy (and hash, and measure) on this machine."""
        return self.host_path or self.source


@value_class
class MemberPatch:
    """ELF edits to one member of the wheel."""

    member: str
    edits: ElfEdits
    #: An executable under ``.data/scripts`` moves here (a shim takes its place), because
    #: scripts do not install at a fixed place relative to the grafted libraries.
    moved_to: str | None = None


@value_class
class RepairPlan:
    #: The policy the repair targets (the first claimed tag's).
    target: PolicyVerdict
    #: The platform tags to claim, best first; ``None`` keeps the wheel's tags.
    platforms: tuple[str, ...] | None
    #: Tags the repaired wheel must be allowed as it is (closure check).
    claimed: tuple[PolicyVerdict, ...]
    libs_dir: str
    grafts: tuple[Graft, ...]
    patches: tuple[MemberPatch, ...]
    #: Sonames left out by ``--exclude`` and ``--from-wheel``.
    excluded: tuple[str, ...]
    #: Sonames other wheels provide, with the distribution that provides each.
    provided: tuple[tuple[str, str], ...] = ()
    #: The verdict the plan was made from: every policy judged once, with the excluded and
    #: provided libraries left out (``None`` only for a plan made by hand).
    verdict: Verdict | None = None


def excluded_sonames(report: AuditReport, patterns: tuple[str, ...]) -> frozenset[str]:
    """Sonames of libraries outside the wheel whose soname or path matches a pattern."""
    out = set()
    for lib in report.external:
        names = (lib.soname, lib.path, lib.realpath)
        if any(n and fnmatch.fnmatchcase(n, p) for n in names for p in patterns):
            out.add(lib.soname)
    return frozenset(out)


def without_libraries(req: WheelRequirements, sonames: frozenset[str]) -> WheelRequirements:
    """``req`` as if the libraries ``sonames`` were provided from elsewhere (``--exclude``): no
    file needs them, nothing of theirs is judged or grafted."""
    if not sonames:
        return req

    files = tuple(
        replace(f, needed=tuple(u for u in f.needed if u.soname not in sonames)) for f in req.files
    )
    libraries = {
        name: replace(f, needed=tuple(u for u in f.needed if u.soname not in sonames))
        for name, f in req.libraries.items()
        if name not in sonames
    }
    return replace(req, files=files, libraries=libraries)


def evaluate_for_repair(
    report: AuditReport, policies: PolicySet, excluded: frozenset[str], audit: AuditOptions
) -> Verdict:
    """Every policy's verdict on ``report``'s wheel with the ``excluded`` libraries left out:
    the audit's own verdict when nothing is left out and it judged these policies with these
    checks (a repair audits with its own policies and options), else one new evaluation."""
    assert report.requirements is not None
    req = report.requirements
    if (
        not excluded
        and report.verdict is not None
        and _judged_alike(report.verdict, policies, audit)
    ):
        return report.verdict
    req = without_libraries(req, excluded)
    return policies.evaluate(req, check_isa=audit.check_isa, check_execstack=audit.check_execstack)


def _judged_alike(verdict: Verdict, policies: PolicySet, audit: AuditOptions) -> bool:
    """Whether ``verdict`` judged exactly ``policies`` (the very objects) with ``audit``'s
    checks: then judging again would give it back."""
    checks = (verdict.check_isa, verdict.check_execstack)
    if checks != (audit.check_isa, audit.check_execstack):
        return False
    return [id(v.policy) for v in verdict.policies] == [id(p) for p in policies]


def plan_repair(
    report: AuditReport,
    policies: PolicySet,
    options: RepairOptions,
    *,
    audit: AuditOptions,
    digest: Callable[[str], str],
) -> RepairPlan:
    """What repairing ``report``'s wheel takes. Raises :class:`RepairRefusedError` when the
    requested policy (or, for ``auto``, every policy) stays out of reach after repair."""
    if report.verdict is None or report.requirements is None:
        raise RepairRefusedError("not a platform wheel: it has no ELF file", path=report.path)
    provided = _provided(report, options.from_wheels)
    excluded = excluded_sonames(report, options.exclude) | frozenset(provided)
    policies = _with_requested(policies, options.plat)
    verdict = evaluate_for_repair(report, policies, excluded, audit)
    target = _target(report, policies, verdict, options)
    claimed = _claimed(verdict, target, options)
    libs_dir = report.filename.name + options.lib_sdir
    system = RootFileSystem(audit.root)
    grafts = _grafts(report, claimed, libs_dir, digest, provided, system=system)
    new_names = {soname: g.name for g in grafts for soname in g.sonames}
    patches = []
    for member in report.members:
        patch = _member_patch(member, new_names, libs_dir, report, options, provided)
        if patch is None and options.strip:  # --strip strips every ELF file, as auditwheel
            patch = MemberPatch(member.member, ElfEdits())
        if patch is not None:
            patches.append(patch)
    platforms = None
    if options.update_tags:
        platforms = tuple(t for v in claimed for t in (v.tag, *v.alias_tags))
    return RepairPlan(
        claimed[0],
        platforms,
        claimed,
        libs_dir,
        grafts,
        tuple(patches),
        tuple(sorted(excluded)),
        tuple(sorted((s, w.distribution) for s, w in provided.items())),
        verdict,
    )


def _provided(
    report: AuditReport, from_wheels: tuple[WheelProvided, ...]
) -> dict[str, WheelProvided]:
    """Sonames of the wheel's external libraries that other wheels provide."""
    out: dict[str, WheelProvided] = {}
    for lib in report.external:
        for provider in from_wheels:
            if fnmatch.fnmatchcase(lib.soname, provider.pattern):
                out.setdefault(lib.soname, provider)
    return out


def _provider_entries(
    needs: Iterable[str], provided: Mapping[str, WheelProvided], location: str
) -> list[str]:
    """``$ORIGIN``-relative RPATH entries from the installed ``location`` (a member path) to the
    directories of the other wheels providing ``needs``."""
    here = posixpath.dirname(installed_path(location))
    return [
        f"$ORIGIN/{posixpath.relpath(installed_path(provided[n].directory), here)}"
        for n in needs
        if n in provided
    ]


def _refusal(report: AuditReport, verdict: PolicyVerdict, what: str) -> RepairRefusedError:
    reasons = verdict.reasons_after_repair
    shown = "; ".join(r.message for r in reasons[:5])
    more = f" (and {len(reasons) - 5} more)" if len(reasons) > 5 else ""
    return RepairRefusedError(
        f"cannot repair to {what}: {shown}{more}{_what_to_try(report, reasons)}", path=report.path
    )


def _what_to_try(report: AuditReport, reasons: Sequence[Reason]) -> str:
    """For libraries not found: where the loader looked, and the options that change that."""
    missing = [r for r in reasons if r.kind is ReasonKind.LIBRARY_NOT_FOUND and r.library]
    if not missing:
        return ""
    names = list(dict.fromkeys(str(r.library) for r in missing))
    requesters = {r.file for r in missing}
    searched = [
        f"{m.member} searched {':'.join(m.elf.runpath or m.elf.rpath)}"
        for m in report.members
        if m.member in requesters and (m.elf.runpath or m.elf.rpath)
    ]
    where = f" ({'; '.join(searched[:2])}, then the system's directories)" if searched else ""
    excludes = " ".join(f"--exclude {n}" for n in names[:3])
    return (
        f" — {', '.join(names[:3])} not found{where}: AUDITWHEEL_LD_LIBRARY_PATH=DIR or --ldpaths "
        f"DIR says where to look, {excludes} leaves it out, --from-wheel "
        "'GLOB=DIST:DIR' names the wheel that installs it"
    )


def _target(
    report: AuditReport, policies: PolicySet, verdict: Verdict, options: RepairOptions
) -> PolicyVerdict:
    if options.plat == "auto":
        best = verdict.best_after_repair
        if best.policy.is_generic:
            # the closest: the fewest reasons after repair, then the most compatible
            nearest = min(
                (v for v in verdict.applicable if not v.policy.is_generic),
                key=lambda v: (len(v.reasons_after_repair), -v.policy.priority),
                default=None,
            )
            if nearest is None:
                raise RepairRefusedError(
                    f"no manylinux/musllinux policy covers {report.arch} with {report.libc}",
                    path=report.path,
                )
            raise _refusal(report, nearest, f"any policy (the closest is {nearest.tag})")
        return best
    match = policies.lookup(options.plat)  # known and not generic: see RepairRequest
    if match.arch is not None and match.arch != report.arch:
        raise RepairRefusedError(
            f"cannot repair a {report.arch} wheel to {options.plat} ({match.arch})",
            path=report.path,
        )
    found = verdict.get(match.policy.name)
    if found is None or not found.applicable:
        raise RepairRefusedError(
            f"{match.policy.name} does not apply to this {report.libc} {report.arch} wheel"
            if found is None
            else "; ".join(r.message for r in found.reasons),
            path=report.path,
        )
    if not found.allowed_after_repair:
        raise _refusal(report, found, found.tag)
    return found


def _with_requested(policies: PolicySet, plat: str) -> PolicySet:
    """``policies`` with the Android policy ``plat`` names when it is of a level the set does not
    list (``--plat android_23_arm64_v8a``): its verdict is then judged like the others'."""
    match = policies.find(plat)
    if match is None or match.policy.libc is not Libc.ANDROID or match.policy in policies:
        return policies
    return PolicySet((*policies.policies, match.policy))


def _claimed(
    verdict: Verdict, target: PolicyVerdict, options: RepairOptions
) -> tuple[PolicyVerdict, ...]:
    """The target, preceded by the best policy the repaired wheel also satisfies — unless asked
    not to, or unless that policy needs grafts the target does not (auditwheel's rule). An
    Android wheel has one tag (PEP 738; auditwheel refuses more): the better one alone, since
    every device accepting the target's API level accepts a lower one."""
    best = verdict.best_after_repair
    if (
        options.only_plat
        or best.policy.priority <= target.policy.priority
        or not set(best.grafts) <= set(target.grafts)
    ):
        return (target,)
    if target.policy.libc is Libc.ANDROID:
        return (best,)
    return (best, target)


def graft_name(source: str, sha256_hex: str) -> str:
    """auditwheel's name: ``libfoo.so.1.2`` -> ``libfoo-<8 hex>.so.1.2``."""
    base, _, rest = posixpath.basename(source).partition(".")
    short = sha256_hex[:8]
    if base.endswith(f"-{short}"):
        return posixpath.basename(source)
    return f"{base}-{short}.{rest}" if rest else f"{base}-{short}"


def _grafts(
    report: AuditReport,
    claimed: tuple[PolicyVerdict, ...],
    libs_dir: str,
    digest: Callable[[str], str],
    provided: Mapping[str, WheelProvided],
    *,
    system: RootFileSystem,
) -> tuple[Graft, ...]:
    assert report.requirements is not None
    sonames = sorted({s for v in claimed for s in v.grafts})
    by_source: dict[str, list[str]] = {}
    paths = {lib.soname: lib.realpath for lib in report.external}
    needed_by = {lib.soname: lib.needed_by for lib in report.external}
    for soname in sonames:
        source = paths.get(soname)
        if source is None:  # judged not found: the verdict would have refused
            raise RepairRefusedError(f"{soname} could not be located", path=report.path)
        by_source.setdefault(source, []).append(soname)
    host = {source: system.host_path(source) for source in by_source}
    names = {source: graft_name(source, digest(host[source])) for source in by_source}
    new_names = {s: names[src] for src, group in by_source.items() for s in group}
    grafts = []
    for source, group in sorted(by_source.items()):
        needs = {u.soname for s in group for u in report.requirements.libraries[s].needed}
        replacements = tuple(sorted((n, new_names[n]) for n in needs if n in new_names))
        # A grafted library linking libpython (boost_python, say) gets it from the interpreter,
        # which on manylinux Pythons is static: the dependency goes, as in the wheel's files.
        # On Android the app has loaded libpython: linking it is normal, it stays.
        android = report.libc is Libc.ANDROID
        no_libpython = () if android else tuple(sorted(n for n in needs if is_libpython(n)))
        member = f"{libs_dir}/{names[source]}"
        entries = (["$ORIGIN"] if replacements else []) + _provider_entries(
            sorted(needs), provided, member
        )
        rpath = ":".join(dict.fromkeys(entries)) or None
        edits = ElfEdits(
            soname=names[source],
            replace_needed=replacements,
            remove_needed=no_libpython,
            rpath=rpath,
            remove_rpath=rpath is None,
            keep_runpath=android,  # Bionic reads DT_RUNPATH only
        )
        included = any(INCLUDE_REQUESTER in needed_by.get(s, ()) for s in group)
        grafts.append(
            Graft(tuple(group), source, names[source], member, edits, included, host[source])
        )
    return tuple(grafts)


def _kept_entries(member: ElfMember, options: RepairOptions) -> list[str]:
    """The member's RPATH/RUNPATH entries that stay: inside the wheel, or kept on purpose."""
    return [
        e
        for e in (*member.elf.rpath, *member.elf.runpath)
        if e not in member.foreign_rpaths
        or any(fnmatch.fnmatchcase(e, p) for p in options.keep_rpaths)
    ]


def rpath_cleanup_members(report: AuditReport, options: RepairOptions) -> tuple[str, ...]:
    """The members whose RPATH/RUNPATH the clean-up would change (entries leading outside the
    wheel, not kept by ``--keep-rpath``)."""
    return tuple(
        m.member
        for m in report.members
        if _kept_entries(m, options) != [*m.elf.rpath, *m.elf.runpath]
    )


def _member_patch(  # noqa: PLR0917 - one call site, all inputs of one decision
    member: ElfMember,
    new_names: Mapping[str, str],
    libs_dir: str,
    report: AuditReport,
    options: RepairOptions,
    provided: Mapping[str, WheelProvided],
) -> MemberPatch | None:
    replacements = tuple(
        (n.soname, new_names[n.soname]) for n in member.needed if n.soname in new_names
    )
    remove: tuple[str, ...] = ()
    if member.libpython is not None and not member.embeds_python:
        remove = (member.libpython,)
    kept = _kept_entries(member, options)
    dirty = options.clean_rpaths and kept != [*member.elf.rpath, *member.elf.runpath]
    needs = [n.soname for n in member.needed]
    moved_to = None
    location = member.member
    if (replacements or any(n in provided for n in needs)) and is_script(member.member):
        moved_to = f"{report.filename.name}.scripts/{posixpath.basename(member.member)}"
        location = moved_to
    other_wheels = _provider_entries(needs, provided, location)
    added = [e for e in other_wheels if e not in kept]
    if not replacements and not remove and not dirty and not added:
        return None
    rpath, remove_rpath, keep_runpath = None, False, False
    if replacements or added:
        here = posixpath.dirname(installed_path(location))
        rel = posixpath.relpath(installed_path(libs_dir), here)
        ours = [f"$ORIGIN/{rel}"] if replacements else []
        rpath = ":".join(dict.fromkeys([*kept, *ours, *other_wheels]))
    elif dirty:
        rpath = ":".join(dict.fromkeys(kept)) or None
        remove_rpath = rpath is None
        keep_runpath = bool(member.elf.runpath)
    edits = ElfEdits(
        replace_needed=replacements,
        remove_needed=remove,
        rpath=rpath,
        remove_rpath=remove_rpath,
        # Bionic ignores DT_RPATH: Android's search path is always DT_RUNPATH.
        keep_runpath=keep_runpath or report.libc is Libc.ANDROID,
    )
    return MemberPatch(member.member, edits, moved_to)
