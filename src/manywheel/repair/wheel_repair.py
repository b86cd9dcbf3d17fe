"""``repair_wheel``: audit a wheel, plan its repair, apply it, prove it, commit it."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import field, replace
from pathlib import Path

from manywheel.audit import AuditReport, audit_archive
from manywheel.errors import InputError, InvalidWheelError, NotPlatformWheelError
from manywheel.linker import RootFileSystem
from manywheel.repair.apply import apply_plan
from manywheel.repair.licenses import LicenseFile, LicensePlan, license_plan
from manywheel.repair.options import RepairOptions
from manywheel.repair.packages import PackageOwner
from manywheel.repair.patcher import NonePatcher
from manywheel.repair.plan import (
    RepairPlan,
    RepairRefusedError,
    plan_repair,
    rpath_cleanup_members,
)
from manywheel.repair.request import RepairRequest
from manywheel.repair.sbom import auditwheel_path, sbom_bytes, sbom_document, sbom_member
from manywheel.values import value_class
from manywheel.wheel import FindingKind, WheelArchive, rewritten_filename

__all__ = ["PythonAbiError", "RepairResult", "repair_wheel", "repaired_name"]

logger = logging.getLogger(__name__)


def _requirement_name(line: str) -> str | None:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        return canonicalize_name(Requirement(line).name)
    except InvalidRequirement:
        return None


def _undeclared(archive: WheelArchive, plan: RepairPlan) -> tuple[str, ...]:
    """Warnings for distributions ``--from-wheel`` relies on that METADATA does not require."""
    if not plan.provided:
        return ()
    # (imported here: a repair that relies on no other wheel needs neither)
    from email.parser import HeaderParser

    from packaging.utils import canonicalize_name

    text = archive.read_member(f"{archive.dist_info}/METADATA").decode("utf-8", "replace")
    lines = HeaderParser().parsestr(text).get_all("Requires-Dist") or []
    declared = {name for line in lines if (name := _requirement_name(line)) is not None}
    return tuple(
        f"{soname} is expected from {dist}, which the wheel's Requires-Dist does not list"
        for soname, dist in plan.provided
        if canonicalize_name(dist) not in declared
    )


@value_class
class RepairResult:
    input: Path
    #: The wheel written (for a pure wheel with ``allow_pure``: the copy).
    output: Path
    report: AuditReport
    #: ``None`` for a pure wheel copied as it is.
    plan: RepairPlan | None
    input_size: int
    output_size: int
    warnings: tuple[str, ...] = ()
    #: The SBOM member written (``None``: no grafted library came from a system package) and
    #: the grafted libraries it names: (path on the system, owning package), in its order.
    sbom: str | None = None
    sbom_packages: tuple[tuple[str, PackageOwner], ...] = ()
    #: The license texts added under ``.dist-info/licenses/`` (PEP 639).
    licenses: tuple[LicenseFile, ...] = ()
    #: Grafted libraries (their sources) with no license text found.
    unlicensed: tuple[str, ...] = ()
    #: Why the texts are not listed in METADATA (older Metadata-Version), if so.
    license_note: str | None = None
    #: Each member's compressed size in the input and in the output, as the repair read and
    #: wrote them (``None``: not known; a size report then reads both wheels).
    compressed_sizes: tuple[Mapping[str, int], Mapping[str, int]] | None = field(
        default=None, compare=False, repr=False
    )


def _sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _refuse_bad_container(report: AuditReport) -> None:
    """A wheel whose RECORD or structure does not verify is not repaired: rewriting it would
    bless whatever was tampered with."""
    serious = [f for f in report.findings if f.kind is not FindingKind.RECORD_WEAK_HASH]
    if serious:
        more = f" (and {len(serious) - 1} more)" if len(serious) > 1 else ""
        raise InvalidWheelError(f"does not verify: {serious[0]}{more}", path=report.path)


class PythonAbiError(RepairRefusedError):
    """The wheel's Python tag promises interpreters its modules do not fit (a symbol outside
    the Stable ABI, a baseline too old, a file name the interpreter does not import, a module
    of the other build): repairing it would publish a wheel known to be broken."""


def _refuse_broken_abi(report: AuditReport) -> None:
    verdict = report.python_abi
    if verdict is None or verdict.ok:
        return
    problems = verdict.problems
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    honest = f"; it could claim {', '.join(verdict.honest_tags)}" if verdict.honest_tags else ""
    raise PythonAbiError(
        f"the Python tag is broken: {problems[0].message}{more}{honest} "
        "(--no-abi-check writes it anyway)",
        path=report.path,
    )


def _abi_warnings(report: AuditReport, options: RepairOptions) -> tuple[str, ...]:
    """With ``--no-abi-check``, the problems written anyway."""
    verdict = report.python_abi
    if options.abi_check or verdict is None:
        return ()
    return tuple(f"Python tag: {p.message}" for p in verdict.problems)


def _copy_pure(archive: WheelArchive, dest_dir: Path) -> Path:
    """The pure wheel copied as it is into ``dest_dir``, through a hidden temporary name (never
    a partial ``*.whl``), with the mode any new file gets under the umask, as every wheel
    manywheel writes."""
    target = dest_dir / archive.path.name
    if target.exists() and target.samefile(archive.path):
        return target
    tmp = dest_dir / f".manywheel-{secrets.token_hex(8)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        with os.fdopen(fd, "wb") as out:
            os.lseek(archive.fileno(), 0, os.SEEK_SET)
            with os.fdopen(os.dup(archive.fileno()), "rb") as source:
                shutil.copyfileobj(source, out, 1 << 20)
        tmp.replace(target)
    except OSError as e:  # a full or read-only wheel directory: name the wheel, not tmp
        tmp.unlink(missing_ok=True)
        raise OSError(e.errno, e.strerror, str(target)) from e
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


@value_class
class _Sbom:
    member: str | None = None
    data: bytes = b""
    packages: tuple[tuple[str, PackageOwner], ...] = ()


def _sbom(
    archive: WheelArchive, report: AuditReport, plan: RepairPlan, request: RepairRequest
) -> _Sbom:
    """auditwheel's SBOM for the grafted libraries that system packages own, if any does. Each
    library is named by the path auditwheel's lddtree gives it (:func:`auditwheel_path` of
    where the loader opens it), so that its bom-ref is auditwheel's."""
    if not plan.grafts:
        return _Sbom()
    fs = RootFileSystem(request.audit.root)
    opened = {lib.soname: lib.path for lib in report.external}
    source_of: dict[str, str] = {}  # auditwheel's spelling -> the graft's source
    for graft in plan.grafts:
        for soname in graft.sonames:
            path = opened.get(soname) or graft.source
            source_of.setdefault(auditwheel_path(fs, path), graft.source)
    owners = request.package_index.owners(list(source_of))
    filename = rewritten_filename(archive, plan.platforms)
    document = sbom_document(filename, owners, tool=("manywheel", request.tool_version))
    if document is None:
        return _Sbom()
    ordered = sorted(owners.items(), key=lambda item: (item[1].purl, item[0]))
    named = tuple(dict.fromkeys((source_of[path], owner) for path, owner in ordered))
    return _Sbom(sbom_member(archive.dist_info), sbom_bytes(document), named)


def _licenses(
    archive: WheelArchive, plan: RepairPlan, sbom: _Sbom, request: RepairRequest
) -> LicensePlan:
    """The grafted libraries' license texts, from the packages the SBOM named (or the user)."""
    texts = license_plan(
        plan,
        dist_info=archive.dist_info,
        metadata=archive.read_member(f"{archive.dist_info}/METADATA"),
        owners=dict(sbom.packages),
        index=request.license_index,
        root=request.audit.root,
        user=request.options.license_files,
    )
    # in the repair's report (text and --json), so only logged, not warned about
    for source in texts.missing:
        logger.info("%s: no license text found for the grafted %s", archive.path.name, source)
    if texts.note:
        logger.info("%s: %s", archive.path.name, texts.note)
    return texts


def _without_rpath_cleanup(
    path: Path, report: AuditReport, request: RepairRequest
) -> RepairRequest:
    """``--patcher none`` edits nothing, so manywheel's RPATH clean-up (which auditwheel does
    not do) is skipped, with one warning when it would have changed a file."""
    options = request.options
    if not options.clean_rpaths:
        return request
    dirty = rpath_cleanup_members(report, options)
    if dirty:
        logger.warning(
            "%s: the 'none' patcher edits nothing: RPATH/RUNPATH entries leading outside the "
            "wheel are left in %d file(s) (%s)",
            path.name,
            len(dirty),
            ", ".join(dirty[:3]) + (", ..." if len(dirty) > 3 else ""),
        )
    return replace(request, options=replace(options, clean_rpaths=False))


def _refuse_unrepairable(path: Path, report: AuditReport, request: RepairRequest) -> None:
    """A wheel that must not be repaired as it is: its container does not verify, its Python
    tag is broken (unless ``--no-abi-check``), or it has ELF files in purelib."""
    _refuse_bad_container(report)
    if request.options.abi_check:
        _refuse_broken_abi(report)
    if report.purelib_elves:  # as auditwheel: platlib only, purelib may install elsewhere
        raise InvalidWheelError(
            "ELF files in .data/purelib (a platform wheel must install them in platlib)",
            path=str(path),
            member=report.purelib_elves[0],
        )


def _make_wheel_dir(dest: Path) -> None:
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InputError("the wheel directory is not a directory", path=str(dest)) from None


def repaired_name(path: str | os.PathLike[str], request: RepairRequest | None = None) -> str:
    """The file name :func:`repair_wheel` would give the wheel at ``path``: audited and
    planned, nothing written. Raises what the repair would raise for a wheel it refuses."""
    request = request if request is not None else RepairRequest()
    with WheelArchive.open(path) as archive:
        report = audit_archive(
            archive, policies=request.policies, options=request.audit, facts=request.facts
        )
        if report.pure:
            return archive.path.name
        plan = plan_repair(
            report, request.policies, request.options, audit=request.audit, digest=_sha256_file
        )
        return rewritten_filename(archive, plan.platforms).raw


def repair_wheel(
    path: str | os.PathLike[str],
    dest_dir: str | os.PathLike[str],
    request: RepairRequest | None = None,
) -> RepairResult:
    """Repair the wheel at ``path`` into ``dest_dir`` (created if missing) as ``request`` says
    (``None``: manywheel's editor, the default options, this machine's libraries, the shipped
    policies). Exactly one wheel is written there on success and nothing on failure; the input
    is never modified.

    When grafted libraries belong to system packages (``request.packages``, by default the
    package databases of ``request.audit.root``), the wheel gets auditwheel's CycloneDX SBOM
    naming them, with manywheel ``request.tool_version`` as its tool.

    With a :class:`NonePatcher` the RPATH clean-up is skipped (a warning says so when it would
    have changed a file): the repair is refused only for the edits auditwheel's ``none``
    patcher refuses (grafting, SONAME, DT_NEEDED or RPATH changes)."""
    path, dest = Path(path), Path(dest_dir)
    request = request if request is not None else RepairRequest()
    with WheelArchive.open(path) as archive:  # an unreadable input creates nothing
        _make_wheel_dir(dest)
        report = audit_archive(
            archive, policies=request.policies, options=request.audit, facts=request.facts
        )
        if report.pure:
            if not request.allow_pure:
                raise NotPlatformWheelError(
                    "not a platform wheel: no ELF file for this architecture", path=str(path)
                )
            output = _copy_pure(archive, dest)
            return RepairResult(
                path, output, report, None, path.stat().st_size, output.stat().st_size
            )
        _refuse_unrepairable(path, report, request)
        if isinstance(request.patcher, NonePatcher):
            request = _without_rpath_cleanup(path, report, request)
        options = request.options
        plan = plan_repair(
            report, request.policies, options, audit=request.audit, digest=_sha256_file
        )
        warnings = _undeclared(archive, plan) + _abi_warnings(report, options)
        for warning in warnings:
            logger.warning("%s: %s", path.name, warning)
        sbom = _sbom(archive, report, plan, request)
        texts = _licenses(archive, plan, sbom, request)
        members = {sbom.member: sbom.data} if sbom.member else {}
        members.update(texts.members)
        if texts.metadata is not None:
            members[f"{archive.dist_info}/METADATA"] = texts.metadata
        pending = apply_plan(archive, report, plan, request, dest_dir=dest, members=members or None)
        before = {m.name: m.compressed_size for m in archive.members}
    with pending:  # the writer already refused to replace its own input
        output = pending.commit()
    return RepairResult(
        path,
        output,
        report,
        plan,
        path.stat().st_size,
        output.stat().st_size,
        warnings,
        sbom.member,
        sbom.packages,
        texts.files,
        texts.missing,
        texts.note,
        (before, pending.compressed_sizes),
    )
