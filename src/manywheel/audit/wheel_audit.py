"""``audit_wheel``: one wheel in, one :class:`AuditReport` out. Reads, never writes."""

from __future__ import annotations

import os
import posixpath
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from manywheel.audit.include import INCLUDE_REQUESTER, Included, resolve_includes
from manywheel.audit.layout import installed_path, is_inside_wheel
from manywheel.audit.libc import android_tag_level, flavor_of, libc_of, musl_version_of
from manywheel.audit.members import (
    build_member,
    member_trees,
    merged_resolutions,
    realpaths_of,
    role_of,
    root_members,
    system_objects,
)
from manywheel.audit.report import (
    AuditReport,
    ElfRole,
    ExternalLibrary,
    Holdout,
    IgnoredMember,
)
from manywheel.audit.requirements import elf_requirements
from manywheel.audit.scan import ScannedElf, scan_wheel
from manywheel.lazy import lazy_logger
from manywheel.linker import (
    DependencyTree,
    OverlayFileSystem,
    Resolution,
    Resolver,
    ResolverCache,
    RootFileSystem,
    Rule,
    SearchSettings,
)
from manywheel.policy import (
    ANDROID_ABIS,
    ARCHITECTURES,
    ElfRequirements,
    Libc,
    LibraryUse,
    Location,
    Policy,
    PolicySet,
    PolicyVerdict,
    Verdict,
    WheelRequirements,
    evaluate,
    load_policies,
)
from manywheel.values import value_class
from manywheel.wheel import (
    Finding,
    WheelArchive,
    WheelFilename,
    content_findings,
    in_scheme,
    structural_findings,
)

if TYPE_CHECKING:
    from manywheel.linker import HostFacts
    from manywheel.policy import PythonAbiVerdict

__all__ = ["AuditOptions", "audit_archive", "audit_wheel"]

logger = lazy_logger(__name__)

#: Resolutions that are not libraries outside the wheel (nothing to graft, no file to name).
_LOADER_RULES = frozenset({Rule.INTERPRETER, Rule.VDSO, Rule.PLATFORM})


@value_class
class AuditOptions:
    """How to audit. Environment variables are read by the caller (the CLI) and passed here."""

    #: The system to resolve libraries in: ``/`` (this machine), a Debian root, a sysroot.
    root: str = "/"
    #: ``LD_LIBRARY_PATH``, split (:func:`manywheel.linker.parse_search_path` splits the three
    #: search-path settings alike, the glibc way).
    ld_library_path: tuple[str, ...] = ()
    #: Extra directories searched after RUNPATH (``AUDITWHEEL_LD_LIBRARY_PATH``).
    extra_ldpaths: tuple[str, ...] = ()
    #: Replaces the system's directories (auditwheel's ``--ldpaths``).
    system_ldpaths: tuple[str, ...] | None = None
    #: The current directory: where an empty or relative search-path entry points, as for the
    #: loader (``None``: such entries are dropped; the CLI passes its own when auditing this
    #: machine).
    cwd: str | None = None
    #: ``False`` is auditwheel's ``--disable-isa-ext-check``.
    check_isa: bool = True
    check_execstack: bool = True
    #: Threads streaming members (``None``: the usable cores, at most 4).
    workers: int | None = None
    #: Libraries the wheel loads with ``dlopen`` (sonames or paths): judged, and grafted by a
    #: repair, like the ones it links (``--include``).
    include: tuple[str, ...] = ()
    #: Judge the Python tag (``AuditReport.python_abi``); ``False`` leaves it ``None`` and skips
    #: the work (auditwheel's ``show --json`` document does not say it).
    python_abi: bool = True
    #: Check RECORD's hashes and sizes against the members (each hashed as it streams);
    #: ``False`` skips the hashing and those findings (auditwheel's ``show --json`` does not
    #: report them). The structure (RECORD present, every member listed) is checked either way.
    verify_record: bool = True


def audit_wheel(
    path: str | os.PathLike[str],
    *,
    policies: PolicySet | Callable[[], PolicySet] | None = None,
    options: AuditOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
    facts: HostFacts | None = None,
) -> AuditReport:
    """Audit the wheel at ``path``: every ELF member's facts and resolution, the container's
    findings, and the verdict of every policy. Raises :class:`~manywheel.InputError` subclasses
    for unreadable input; a non-compliant wheel is a report, not an error.

    ``policies`` may be a loader (``None``: the shipped policies): it then runs while the
    members stream, which mostly wait on zlib with the GIL released. ``facts`` keeps the
    system's parsed libraries and ld.so.cache for the next audits given it (many wheels)."""
    with WheelArchive.open(path) as archive:
        return audit_archive(
            archive, policies=policies, options=options, progress=progress, facts=facts
        )


def audit_archive(
    archive: WheelArchive,
    *,
    policies: PolicySet | Callable[[], PolicySet] | None = None,
    options: AuditOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
    facts: HostFacts | None = None,
) -> AuditReport:
    """:func:`audit_wheel` of an archive already open (a repair keeps it open to rewrite it:
    the digests computed here are reused by the writer)."""
    options = options or AuditOptions()
    loaded, scanned, structural = _while_scanning(archive, policies, options, progress)
    findings = structural
    if options.verify_record:
        findings += content_findings(archive)  # digests come from the scan
    return analyze(
        str(archive.path),
        archive.filename,
        scanned,
        findings,
        policies=loaded,
        options=options,
        facts=facts,
    )


def _while_scanning(
    archive: WheelArchive,
    policies: PolicySet | Callable[[], PolicySet] | None,
    options: AuditOptions,
    progress: Callable[[int, int], None] | None,
) -> tuple[PolicySet, tuple[ScannedElf, ...], tuple[Finding, ...]]:
    """Stream the members in the background; meanwhile load the policies (when given a loader)
    and check the container's structure (WHEEL, METADATA, RECORD parsed): the streaming threads
    mostly wait on inflate with the GIL released."""
    outcome: list[tuple[ScannedElf, ...] | BaseException] = []

    def scan() -> None:
        try:
            outcome.append(
                scan_wheel(
                    archive,
                    workers=options.workers,
                    progress=progress,
                    hashed=options.verify_record,
                )
            )
        except BaseException as e:  # raised on the caller's thread
            outcome.append(e)

    # (a thread of its own, not concurrent.futures: its import, and logging's, would cost a
    # small wheel's show more than the scan)
    scanning = threading.Thread(target=scan, name="manywheel-scan")
    scanning.start()
    try:  # an error here still waits for the scan
        loaded = policies if isinstance(policies, PolicySet) else (policies or load_policies)()
        structural = structural_findings(archive)
        for arch in _archs_named(archive.filename):
            loaded.prepare(arch)
    finally:
        scanning.join()
    scanned = outcome[0]
    if isinstance(scanned, BaseException):
        raise scanned
    return loaded, scanned, structural


def analyze(
    path: str,
    filename: WheelFilename,
    scanned: tuple[ScannedElf, ...],
    findings: tuple[Finding, ...],
    *,
    policies: PolicySet | None,
    options: AuditOptions,
    facts: HostFacts | None = None,
) -> AuditReport:
    """The audit of already-scanned members (pure apart from reading the audited system).
    With ``policies=None`` the members are resolved and the requirements gathered, but nothing
    is judged (no verdict, holdouts or Python-tag verdict): a repair's closure check judges the
    repaired wheel against the tags it claims itself."""
    purelib = tuple(s.member for s in scanned if in_scheme(s.member, "purelib"))
    if not scanned:
        return AuditReport(path, filename, True, None, None, findings, (), (), (), None, None)
    arch = _wheel_arch(filename, scanned)
    kept = tuple(s for s in scanned if s.elf.arch == arch)
    ignored = tuple(
        IgnoredMember(s.member, f"built for {s.elf.arch or 'an unknown machine'}, not {arch}")
        for s in scanned
        if s.elf.arch != arch
    )
    if arch is None or not kept:
        return AuditReport(
            path, filename, True, arch, None, findings, (), ignored, (), None, None, (), purelib
        )
    libc = libc_of(filename, (s.elf for s in kept))
    virtual = {installed_path(s.member): s for s in kept}
    on_disk = RootFileSystem(options.root, facts=facts)
    fs = OverlayFileSystem(on_disk, {v: s.elf for v, s in virtual.items()})
    settings = SearchSettings(
        ld_library_path=options.ld_library_path,
        extra_ldpaths=options.extra_ldpaths,
        system_ldpaths=options.system_ldpaths,
        cwd=options.cwd,
        flavor=flavor_of(libc),
    )
    resolver = Resolver(fs, settings, ResolverCache(fs, facts))
    roles = {v: role_of(s.elf, s.member) for v, s in virtual.items()}
    trees = member_trees(resolver, {v: (s.member, s.elf) for v, s in virtual.items()})
    included = resolve_includes(
        options.include,
        arch=arch,
        resolver=resolver,
        root=options.root,
        search=_absolute(options, (*options.ld_library_path, *options.extra_ldpaths)),
        system=None
        if options.system_ldpaths is None
        else _absolute(options, options.system_ldpaths),
    )
    every_tree = [*trees.values(), *(i.tree for i in included)]
    contexts = {**trees, **{i.path: i.tree for i in included}}
    loaded_directly = [v for v in virtual if roles[v] is not ElfRole.LIBRARY]
    roots = root_members(contexts, [*loaded_directly, *(i.path for i in included)])
    merged = merged_resolutions(contexts, roots)
    realpaths = realpaths_of(every_tree)
    names = {v: s.member for v, s in virtual.items()}
    context = _context_trees(trees, realpaths)
    members = tuple(
        build_member(
            s.member,
            v,
            s.elf,
            context[v],
            resolutions=merged[v],
            realpaths=realpaths,
            members=names,
        )
        for v, s in virtual.items()
    )
    external = _with_included(_external(trees, merged, realpaths, names), included)
    libraries = _library_requirements(every_tree, merged, realpaths)
    for inc in included:
        real = inc.tree.root.realpath
        libraries.setdefault(
            inc.soname, elf_requirements(real, inc.tree.root.elf, merged.get(real, {}), realpaths)
        )
    requirements = WheelRequirements(
        arch=arch,
        libc=libc,
        files=tuple(
            elf_requirements(s.member, s.elf, merged[v], realpaths) for v, s in virtual.items()
        )
        + tuple(
            ElfRequirements(
                f"{INCLUDE_REQUESTER} {i.name}", (LibraryUse(i.soname, Location.SYSTEM),)
            )
            for i in included
        ),
        libraries=libraries,
        musl_version=musl_version_of(filename, trees.values(), fs) if libc is Libc.MUSL else None,
        android_tag_level=android_tag_level(filename) if libc is Libc.ANDROID else None,
    )
    verdict: Verdict | None = None
    holdouts: tuple[Holdout, ...] = ()
    python_abi: PythonAbiVerdict | None = None
    if policies is not None:
        verdict = _evaluate(policies, requirements, options)
        holdouts = _holdouts(policies, requirements, verdict, options)
        if options.python_abi:
            from manywheel.audit.python_abi import python_abi_verdict

            python_abi = python_abi_verdict(filename, members, arch=arch, libc=libc)
    return AuditReport(
        path,
        filename,
        False,
        arch,
        libc,
        findings,
        members,
        ignored,
        external,
        requirements,
        verdict,
        holdouts,
        purelib,
        python_abi,
    )


def _context_trees(
    trees: Mapping[str, DependencyTree], realpaths: Mapping[str, str]
) -> dict[str, DependencyTree]:
    """For every member, the tree it was resolved in: its own when it has one, else the first
    tree that loads it."""
    out = dict(trees)
    for tree in trees.values():
        for obj in tree.objects:
            out.setdefault(realpaths.get(obj.path, obj.realpath), tree)
    return out


def _absolute(options: AuditOptions, entries: tuple[str, ...]) -> tuple[str, ...]:
    """Search-path entries as directories: an empty or relative one in ``options.cwd`` (dropped
    without one), as the loader reads it."""
    cwd = options.cwd
    if cwd is None:
        return tuple(e for e in entries if e.startswith("/"))
    return tuple(posixpath.join(cwd, e) if e else cwd for e in entries)


def _archs_named(filename: WheelFilename) -> list[str]:
    """The architectures the filename's platform tags name, in the tags' order (PEP 738's ABI
    names in Android tags: ``arm64_v8a`` is aarch64)."""
    named = (a for p in filename.platform_tags for a in ARCHITECTURES if p.endswith("_" + a))
    android = (
        a
        for p in filename.platform_tags
        if p.startswith("android_")
        for a, abi in ANDROID_ABIS.items()
        if p.endswith("_" + abi)
    )
    return list(dict.fromkeys((*named, *android)))


def _wheel_arch(filename: WheelFilename, scanned: tuple[ScannedElf, ...]) -> str | None:
    """The architecture the wheel's platform tags name, if its ELF files have it; else the one
    most of its ELF members (extensions first) are built for."""
    elf_archs = {s.elf.arch for s in scanned}
    for arch in _archs_named(filename):
        if arch in elf_archs:
            return arch
    counts = Counter(s.elf.arch for s in scanned if s.elf.arch is not None)
    extensions = [s.elf.arch for s in scanned if s.elf.python_extension(s.member) is not None]
    if extensions and extensions[0] is not None:
        return extensions[0]
    return counts.most_common(1)[0][0] if counts else None


def _external(
    trees: Mapping[str, DependencyTree],
    merged: Mapping[str, Mapping[str, Resolution]],
    realpaths: Mapping[str, str],
    names: Mapping[str, str],
) -> tuple[ExternalLibrary, ...]:
    """Every library found outside the wheel (the loader and vDSO aside) or not found at all,
    with who needs it: a member's name, or the soname of another external library."""
    found: dict[str, tuple[str | None, str | None]] = {}
    needed_by: dict[str, set[str]] = defaultdict(set)
    sonames: dict[str, str] = {}
    for resolutions in merged.values():
        for res in resolutions.values():
            if res.path is not None:
                sonames.setdefault(realpaths.get(res.path, res.path), res.name)
    for requester, resolutions in merged.items():
        who = names.get(requester) or sonames.get(requester, requester)
        for res in _external_resolutions(resolutions.values(), realpaths):
            real = None if res.path is None else realpaths.get(res.path, res.path)
            found.setdefault(res.name, (res.path, real))
            needed_by[res.name].add(who)
    return tuple(
        ExternalLibrary(name, *found[name], tuple(sorted(needed_by[name])))
        for name in sorted(found)
    )


def _with_included(
    external: tuple[ExternalLibrary, ...], included: tuple[Included, ...]
) -> tuple[ExternalLibrary, ...]:
    """``external`` plus the included libraries (needed by ``--include``)."""
    known = {lib.soname: lib for lib in external}
    for inc in included:
        lib = known.get(inc.soname)
        needed_by = tuple(sorted({*(lib.needed_by if lib else ()), INCLUDE_REQUESTER}))
        known[inc.soname] = ExternalLibrary(inc.soname, inc.path, inc.tree.root.realpath, needed_by)
    return tuple(known[name] for name in sorted(known))


def _external_resolutions(
    resolutions: Iterable[Resolution], realpaths: Mapping[str, str]
) -> Iterator[Resolution]:
    for res in resolutions:
        if res.rule in _LOADER_RULES:
            continue
        if res.path is not None and is_inside_wheel(realpaths.get(res.path, res.path)):
            continue
        yield res


def _library_requirements(
    trees: Iterable[DependencyTree],
    merged: Mapping[str, Mapping[str, Resolution]],
    realpaths: Mapping[str, str],
) -> dict[str, ElfRequirements]:
    """Requirements of each library loaded from outside the wheel, under every name it was
    loaded by (a repair may graft it)."""
    by_real = {
        real: elf_requirements(real, obj.elf, merged.get(real, {}), realpaths)
        for real, obj in system_objects(trees).items()
    }
    out: dict[str, ElfRequirements] = {}
    for resolutions in merged.values():
        for res in _external_resolutions(resolutions.values(), realpaths):
            real = None if res.path is None else realpaths.get(res.path, res.path)
            if real in by_real:
                out.setdefault(res.name, by_real[real])
    return out


def _evaluate(policies: PolicySet, req: WheelRequirements, options: AuditOptions) -> Verdict:
    return policies.evaluate(
        req, check_isa=options.check_isa, check_execstack=options.check_execstack
    )


def _holdouts(
    policies: PolicySet, req: WheelRequirements, verdict: Verdict, options: AuditOptions
) -> tuple[Holdout, ...]:
    """When the reasons that keep the wheel from every better applicable tag all come from one
    member, name it and say what the wheel could claim without it."""
    best = verdict.best_after_repair
    better = [v for v in verdict.applicable if v.policy.priority > best.policy.priority]
    if not better or len(req.files) < 2:
        return ()
    nearest = min(better, key=lambda v: v.policy.priority)
    own = {f.path for f in req.files}
    culprits = {r.file for r in nearest.reasons_after_repair if r.file in own}
    if len(culprits) != 1:
        return ()
    (culprit,) = culprits
    without = replace(req, files=tuple(f for f in req.files if f.path != culprit))
    linux = next(v.policy for v in verdict.policies if v.policy.is_generic)
    ascending = sorted((v.policy for v in better), key=lambda p: p.priority)
    improved = _best_allowing(ascending, linux, without, options)
    if improved is None:
        return ()
    return (Holdout(str(culprit), best.tag, improved.tag),)


def _best_allowing(
    ascending: list[Policy], linux: Policy, req: WheelRequirements, options: AuditOptions
) -> PolicyVerdict | None:
    """The highest-priority policy of ``ascending`` (sorted by priority) allowing ``req`` after
    repair. Policies of one family contain each other (validated when loaded), so allowing is
    monotonic in priority and a binary search judges a handful of policies, not all."""
    found = None
    low, high = 0, len(ascending) - 1
    while low <= high:
        middle = (low + high) // 2
        judged = evaluate(
            (ascending[middle], linux),
            req,
            check_isa=options.check_isa,
            check_execstack=options.check_execstack,
        ).policies[0]
        if judged.allowed_after_repair:
            found, low = judged, middle + 1
        else:
            high = middle - 1
    return found
