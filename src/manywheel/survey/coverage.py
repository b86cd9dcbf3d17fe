"""Coverage of a release from its filenames alone: sdist only, pure, or binary; and for binary
releases which platforms (OS, architecture, libc and its oldest version) and which Pythons
(CPython versions, free-threaded, abi3/abi3t, PyPy, GraalPy) its wheels serve.

Nothing is downloaded: a wheel's filename is its promise, and this module reads the promises.
(Whether they are true is ``--audit``'s question.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from manywheel.survey.model import DistFile, FileKind, Release
from manywheel.survey.platforms import Platform, PythonTag, parse_platform, parse_python

__all__ = [
    "Coverage",
    "PlatformCoverage",
    "ReleaseKind",
    "WheelTags",
    "classify",
    "python_sort_key",
    "wheel_tags",
]


class ReleaseKind(Enum):
    #: Source distributions only: every user builds it.
    SDIST_ONLY = "sdist-only"
    #: Only wheels for any platform (Python code, or no platform-specific files).
    PURE = "pure"
    #: At least one platform wheel.
    BINARY = "binary"
    #: Nothing installable with pip (eggs, installers) or no files at all.
    NONE = "no-files"


@dataclass(frozen=True, slots=True)
class WheelTags:
    """One wheel's filename, understood: every platform and Python its tags name."""

    filename: str
    platforms: tuple[Platform, ...]
    pythons: tuple[PythonTag, ...]

    @property
    def pure(self) -> bool:
        return all(p.os == "any" for p in self.platforms)


def wheel_tags(filename: str) -> WheelTags | None:
    """The tags of a wheel filename; ``None`` if it is not a valid one."""
    try:
        _, _, _, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return None
    platforms = sorted({parse_platform(t.platform) for t in tags})
    pythons = sorted({parse_python(t.interpreter, t.abi) for t in tags}, key=python_sort_key)
    return WheelTags(filename, tuple(platforms), tuple(pythons))


_IMPLEMENTATION_ORDER = {"cpython": 0, "python": 1, "pypy": 2, "graalpy": 3}


def python_sort_key(tag: PythonTag) -> tuple[int, int, tuple[int, ...], bool, str]:
    """CPython first (version-specific, then the stable ABIs), then py3, PyPy, GraalPy."""
    order = _IMPLEMENTATION_ORDER.get(tag.implementation, 9)
    return (order, int(tag.stable_abi), tag.version or (), tag.free_threaded, tag.key)


@dataclass(frozen=True, slots=True)
class PlatformCoverage:
    """One platform family (``manylinux_x86_64``) and what the release's wheels serve on it."""

    family: str
    os: str
    arch: str
    libc: str | None
    #: The oldest libc / OS version any wheel of the family needs (manylinux: the oldest glibc).
    oldest: tuple[int, ...] | None
    #: Python keys (``cp312``, ``cp313t``, ``abi3``...), in order.
    pythons: tuple[str, ...]
    wheels: int


@dataclass(frozen=True, slots=True)
class Coverage:
    """A release's coverage, from its filenames."""

    kind: ReleaseKind
    has_sdist: bool
    #: A pure wheel for Python 2 and 3 (``py2.py3-none-any``).
    universal: bool
    #: A binary release that also ships a pure wheel (a fallback for other platforms).
    pure_fallback: bool
    #: Platform families served by platform wheels, in order.
    platforms: tuple[PlatformCoverage, ...]
    #: Every Python key of the platform wheels, in order.
    pythons: tuple[str, ...]
    wheels: tuple[WheelTags, ...]

    @property
    def oldest_glibc(self) -> tuple[int, ...] | None:
        """The oldest glibc any manylinux wheel of the release runs on."""
        levels = [p.oldest for p in self.platforms if p.libc == "glibc" and p.oldest]
        return min(levels) if levels else None

    @property
    def free_threaded(self) -> bool:
        return any((p.endswith("t") and p[:2] == "cp") or p == "abi3t" for p in self.pythons)

    @property
    def stable_abi(self) -> bool:
        return "abi3" in self.pythons or "abi3t" in self.pythons

    @property
    def oses(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.os for p in self.platforms))


def classify(release: Release) -> Coverage:
    """The coverage of ``release`` (its yanked files count: they are still served)."""
    files = list(release.files)
    has_sdist = any(f.kind is FileKind.SDIST for f in files)
    wheels = tuple(w for w in _wheels(files) if w is not None)
    binary = [w for w in wheels if not w.pure]
    pure = [w for w in wheels if w.pure]
    if binary:
        kind = ReleaseKind.BINARY
    elif pure:
        kind = ReleaseKind.PURE
    elif has_sdist:
        kind = ReleaseKind.SDIST_ONLY
    else:
        kind = ReleaseKind.NONE
    universal = any({"py2", "py3"} <= {p.key for p in w.pythons} for w in pure)
    pythons = sorted({p for w in binary for p in w.pythons}, key=python_sort_key)
    return Coverage(
        kind,
        has_sdist,
        universal,
        bool(binary and pure),
        _platforms(binary),
        tuple(dict.fromkeys(p.key for p in pythons)),
        wheels,
    )


def _wheels(files: Iterable[DistFile]) -> Iterable[WheelTags | None]:
    return (wheel_tags(f.filename) for f in files if f.kind is FileKind.WHEEL)


def _platforms(wheels: list[WheelTags]) -> tuple[PlatformCoverage, ...]:
    """Per family: the oldest version (a wheel tagged for several versions of one family, as
    ``manylinux2014_x86_64.manylinux_2_17_x86_64``, counts with its oldest), its Pythons."""
    families: dict[str, tuple[Platform, list[tuple[int, ...] | None], set[PythonTag], int]] = {}
    for wheel in wheels:
        oldest_in_wheel: dict[str, tuple[int, ...] | None] = {}
        for platform in wheel.platforms:
            if platform.os == "any":
                continue
            seen = oldest_in_wheel.get(platform.family, platform.version)
            both = [v for v in (seen, platform.version) if v is not None]
            oldest_in_wheel[platform.family] = min(both) if both else None
            entry = families.setdefault(platform.family, (platform, [], set(), 0))
            entry[2].update(wheel.pythons)
        for family, oldest in oldest_in_wheel.items():
            platform, versions, pythons, count = families[family]
            versions.append(oldest)
            families[family] = (platform, versions, pythons, count + 1)
    out = []
    for family, (platform, versions, pythons, count) in families.items():
        known = [v for v in versions if v is not None]
        ordered = sorted(pythons, key=python_sort_key)
        out.append(
            PlatformCoverage(
                family,
                platform.os,
                platform.arch,
                platform.libc,
                min(known) if known else None,
                tuple(dict.fromkeys(p.key for p in ordered)),
                count,
            )
        )
    return tuple(sorted(out, key=_platform_sort_key))


_OS_ORDER = {"linux": 0, "macos": 1, "windows": 2, "ios": 3, "android": 4, "emscripten": 5}
_LIBC_ORDER = {"glibc": 0, "musl": 1, None: 2}
_ARCH_ORDER = {"x86_64": 0, "amd64": 0, "aarch64": 1, "arm64": 1, "universal2": 2}


def _platform_sort_key(p: PlatformCoverage) -> tuple[int, int, int, str]:
    return (_OS_ORDER.get(p.os, 9), _LIBC_ORDER[p.libc], _ARCH_ORDER.get(p.arch, 5), p.family)
