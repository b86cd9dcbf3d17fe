"""``--target cp314t-manylinux_aarch64``: can a release be installed there from a wheel, and if
not, what is missing — a "can I use" for wheels.

A target is a Python (``cp313``, ``cp314t``, ``pp311``, ``graalpy312``) and a platform, with or
without its version: ``manylinux_aarch64`` (any glibc), ``manylinux_2_28_x86_64`` (a system with
glibc 2.28), ``musllinux_1_2_x86_64``, ``macosx_arm64``, ``macosx_11_0_arm64``, ``win_amd64``.
The rules are pip's (packaging's tag order): a version-specific ABI, the stable ABI (``abi3``
for GIL builds, ``abi3t`` for free-threaded ones) of the same or an older CPython, or no ABI; a
wheel's ``Requires-Python`` from the index counts too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from manywheel.errors import ManywheelError
from manywheel.survey.model import DistFile, FileKind
from manywheel.survey.platforms import GLIBC_ALIASES, parse_platform, version_text

__all__ = ["InvalidTargetError", "Target", "TargetResult", "TargetStatus", "check_target"]

_PYTHON = re.compile(r"^(cp|pp|graalpy)(\d)(\d+)(t?)$")
_PLATFORM = re.compile(r"^(manylinux|musllinux|macosx)(?:_(\d+)_(\d+))?_([a-z0-9_]+)$")
_MAC_ARCHS = {
    "arm64": ("arm64", "universal2"),
    "x86_64": ("x86_64", "intel", "universal2", "universal", "fat64", "fat3"),
}
_IMPLEMENTATION = {"cp": "cpython", "pp": "pypy", "graalpy": "graalpy"}


class InvalidTargetError(ManywheelError):
    """A ``--target`` that does not name a Python and a platform (a usage error)."""


@dataclass(frozen=True, slots=True)
class Target:
    """A Python and a platform to install on."""

    text: str
    implementation: str
    version: tuple[int, int]
    free_threaded: bool
    #: ``manylinux``, ``musllinux``, ``macosx`` or an exact platform tag (``win_amd64``).
    platform_kind: str
    arch: str
    #: The system's glibc / musl / macOS version; ``None`` means any.
    platform_version: tuple[int, int] | None

    @classmethod
    def parse(cls, text: str) -> Target:
        python, sep, platform = text.strip().partition("-")
        match = _PYTHON.match(python)
        if not sep or match is None or not platform:
            raise InvalidTargetError(
                f"--target {text!r}: expected PYTHON-PLATFORM, e.g. cp314t-manylinux_aarch64, "
                "cp313-manylinux_2_28_x86_64, pp311-musllinux_x86_64, cp312-win_amd64"
            )
        letters, major, minor, t = match.groups()
        if t and letters != "cp":
            raise InvalidTargetError(f"--target {text!r}: only CPython has free-threaded builds")
        kind, arch, version = _parse_target_platform(platform)
        return cls(
            text, _IMPLEMENTATION[letters], (int(major), int(minor)), bool(t), kind, arch, version
        )

    @property
    def python_label(self) -> str:
        short = {"cpython": "cp", "pypy": "pp", "graalpy": "graalpy"}[self.implementation]
        return f"{short}{self.version[0]}{self.version[1]}{'t' if self.free_threaded else ''}"

    @property
    def platform_label(self) -> str:
        if self.platform_kind not in ("manylinux", "musllinux", "macosx"):
            return self.platform_kind
        libc = {"manylinux": "glibc", "musllinux": "musl", "macosx": "macOS"}[self.platform_kind]
        floor = f" ({libc} {version_text(self.platform_version)})" if self.platform_version else ""
        return f"{self.platform_kind} {self.arch}{floor}"

    def python_matches(self, interpreter: str, abi: str) -> bool:
        major, minor = self.version
        if abi == "none":
            return interpreter in self._no_abi_interpreters()
        if self.implementation == "cpython":
            return self._cpython_matches(interpreter, abi)
        own = f"{self.python_label}"
        prefix = "pypy" if self.implementation == "pypy" else "graalpy"
        return interpreter == own and abi.startswith(f"{prefix}{major}{minor}")

    def _no_abi_interpreters(self) -> set[str]:
        major, minor = self.version
        names = {f"py{major}", f"py{major}{minor}", self.python_label.rstrip("t")}
        names.update(f"py{major}{m}" for m in range(minor))
        return names

    def _cpython_matches(self, interpreter: str, abi: str) -> bool:
        major, minor = self.version
        own = f"cp{major}{minor}"
        if abi in ("abi3", "abi3t"):
            if (abi == "abi3t") != self.free_threaded:
                return False
            match = _PYTHON.match(interpreter)
            if match is None or match.group(1) != "cp" or match.group(4):
                return False
            return (int(match.group(2)), int(match.group(3))) <= (major, minor)
        if interpreter != own:
            return False
        if self.free_threaded:
            return abi == f"{own}t"
        return abi == own or (minor < 8 and abi == f"{own}m")

    def platform_matches(self, tag: str) -> bool:
        if tag == "any":
            return True
        if self.platform_kind not in ("manylinux", "musllinux", "macosx"):
            return tag == self.platform_kind
        platform = parse_platform(tag)
        if platform.family.split("_", 1)[0] != self.platform_kind:
            return False
        archs = _MAC_ARCHS.get(self.arch, (self.arch,)) if self.platform_kind == "macosx" else None
        if platform.arch not in (archs or (self.arch,)):
            return False
        if self.platform_version is None or platform.version is None:
            return True
        return platform.version[:2] <= self.platform_version

    def requires_python_allows(self, requires_python: str | None) -> bool:
        if not requires_python:
            return True
        try:
            spec = SpecifierSet(requires_python)
        except InvalidSpecifier:
            return True  # pip ignores an invalid Requires-Python too
        return spec.contains(f"{self.version[0]}.{self.version[1]}", prereleases=True)


def _parse_target_platform(text: str) -> tuple[str, str, tuple[int, int] | None]:
    for alias, version in GLIBC_ALIASES.items():
        if text.startswith(alias + "_"):
            return "manylinux", text[len(alias) + 1 :], version
    match = _PLATFORM.match(text)
    if match is None:
        return text, parse_platform(text).arch, None
    kind, major, minor, arch = match.groups()
    if major is None:
        return kind, arch, None
    return kind, arch, (int(major), int(minor))


class TargetStatus(Enum):
    #: A wheel installs.
    WHEEL = "wheel"
    #: No wheel, but an sdist: pip would build it (a compiler and the build's libraries needed).
    SDIST = "sdist"
    #: Nothing pip could install.
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class TargetResult:
    status: TargetStatus
    #: The wheel that installs (a platform wheel preferred to a pure one).
    wheel: str | None
    #: Why no wheel installs (empty when one does).
    reason: str


def check_target(target: Target, files: tuple[DistFile, ...]) -> TargetResult:
    """Whether one release (``files``) installs on ``target`` from a wheel, and if not why."""
    wheels = [f for f in files if f.kind is FileKind.WHEEL]
    matches: list[tuple[bool, str]] = []
    for file in wheels:
        tags = _tags(file.filename)
        fits = [t for t in tags if target.python_matches(t[0], t[1])]
        fits = [t for t in fits if target.platform_matches(t[2])]
        if fits and target.requires_python_allows(file.requires_python):
            matches.append((all(t[2] == "any" for t in fits), file.filename))
    if matches:
        return TargetResult(TargetStatus.WHEEL, min(matches)[1], "")
    reason = _why_not(target, wheels)
    has_sdist = any(f.kind is FileKind.SDIST for f in files)
    return TargetResult(TargetStatus.SDIST if has_sdist else TargetStatus.MISSING, None, reason)


def _tags(filename: str) -> list[tuple[str, str, str]]:
    try:
        _, _, _, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return []
    return [(t.interpreter, t.abi, t.platform) for t in tags]


def _why_not(target: Target, wheels: list[DistFile]) -> str:
    if not wheels:
        return "no wheels (source only)"
    tags = [(w, t) for w in wheels for t in _tags(w.filename)]
    on_platform = [(w, t) for w, t in tags if _same_family(target, t[2])]
    if not on_platform:
        return f"no wheel for {target.platform_label}"
    for_python = [(w, t) for w, t in on_platform if target.python_matches(t[0], t[1])]
    if not for_python:
        pythons = sorted({_python_text(t) for _, t in on_platform})
        listed = ", ".join(pythons)
        return f"wheels for {target.platform_label} are for {listed}, not {target.python_label}"
    newer = [
        parse_platform(t[2]).version for _, t in for_python if not target.platform_matches(t[2])
    ]
    known = [v for v in newer if v is not None]
    if known and target.platform_version is not None:
        return (
            f"the {target.python_label} wheels need {target.platform_kind} "
            f"{version_text(min(known))}; the target has {version_text(target.platform_version)}"
        )
    return f"the {target.python_label} wheels' Requires-Python excludes {target.python_label}"


def _same_family(target: Target, tag: str) -> bool:
    if tag == "any":
        return True
    unversioned = Target(
        target.text,
        target.implementation,
        target.version,
        target.free_threaded,
        target.platform_kind,
        target.arch,
        None,
    )
    return unversioned.platform_matches(tag)


def _python_text(tag: tuple[str, str, str]) -> str:
    interpreter, abi, _ = tag
    if abi in ("abi3", "abi3t"):
        return f"{abi} (≥ {interpreter})"
    if abi == "none":
        return interpreter
    return abi if abi.startswith("cp") else interpreter
