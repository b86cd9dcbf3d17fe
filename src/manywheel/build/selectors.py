"""Which identifiers to build: cibuildwheel's ``build``/``skip`` selectors, ``archs`` and
``enable`` groups, with its rules.

A selector is a space-separated list of patterns; each is expanded as a shell expands braces
(``cp3{10,11}-*``, ``cp3{8..13}-*``, nested) and matched with :func:`fnmatch.fnmatchcase`
(``*``, ``?``, ``[...]``). An identifier is built when ``build`` matches it, ``skip`` does not,
the project's ``requires-python`` admits its Python (``X.Y.99``, as cibuildwheel checks), and
the groups it needs are enabled (free-threaded builds need ``cpython-freethreading``, PyPy
needs ``pypy``).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from manywheel.build.identifiers import (
    ARCHITECTURES,
    KNOWN_PYTHONS,
    BuildIdentifier,
    Platform,
    PythonImplementation,
)
from manywheel.build.patterns import selector_matches
from manywheel.errors import InputError, ManywheelError

__all__ = [
    "BuildSelector",
    "EnableGroup",
    "Selection",
    "parse_archs",
    "select_identifiers",
]


class EnableGroup(enum.Enum):
    """Builds left out unless enabled (cibuildwheel's ``enable``)."""

    CPYTHON_FREETHREADING = "cpython-freethreading"
    PYPY = "pypy"

    @classmethod
    def parse(cls, words: Iterable[str]) -> frozenset[EnableGroup]:
        groups: set[EnableGroup] = set()
        for word in words:
            if word == "all":
                return frozenset(cls)
            try:
                groups.add(cls(word))
            except ValueError:
                known = ", ".join(g.value for g in cls)
                raise ManywheelError(
                    f"unknown enable group {word!r} (known: {known}, all)"
                ) from None
        return frozenset(groups)


def _has_wildcard(pattern: str) -> bool:
    return any(char in pattern for char in "*?[{")


@dataclass(frozen=True, slots=True)
class BuildSelector:
    """cibuildwheel's build selection. ``build=None`` means the default ``*`` (what the machine
    can build); an explicit ``build`` asks for every identifier it matches."""

    build: str | None = None
    skip: str = ""
    requires_python: SpecifierSet | None = None
    enable: frozenset[EnableGroup] = frozenset()

    def admits_python(self, identifier: BuildIdentifier) -> bool:
        """Whether ``requires-python`` admits the identifier's Python (as ``X.Y.99``)."""
        if self.requires_python is None:
            return True
        major, minor = identifier.version
        return self.requires_python.contains(Version(f"{major}.{minor}.99"))

    def __call__(self, identifier: BuildIdentifier) -> bool:
        text = str(identifier)
        if not self.admits_python(identifier):
            return False
        if identifier.free_threaded and EnableGroup.CPYTHON_FREETHREADING not in self.enable:
            return False
        if (
            identifier.implementation is PythonImplementation.PYPY
            and EnableGroup.PYPY not in self.enable
        ):
            return False
        return selector_matches(self.build or "*", text) and not selector_matches(self.skip, text)

    def named(self) -> tuple[BuildIdentifier, ...]:
        """The identifiers ``build`` names literally (no wildcard): asked for by name, they are
        reported when they cannot be built instead of being left out quietly."""
        if self.build is None:
            return ()
        try:
            words = self.build.split()
            return tuple(BuildIdentifier.parse(w) for w in words if not _has_wildcard(w))
        except InputError as e:
            raise ManywheelError(f"--build: {e}") from e


def parse_archs(text: str, native: str) -> tuple[str, ...]:
    """cibuildwheel's ``archs`` for Linux: names, or ``native`` (this machine's), ``auto``
    (native, and i686 on x86_64), ``auto64``, ``auto32``, ``all``; space- or comma-separated.
    ``native`` is passed in (the CLI reads the machine)."""
    auto = (native, "i686") if native == "x86_64" else (native,)
    found: list[str] = []
    for word in re.split(r"[\s,]+", text.strip()):
        if not word:
            continue
        if word == "native":
            found.append(native)
        elif word == "auto":
            found.extend(auto)
        elif word == "auto64":
            found.extend(a for a in auto if a not in ("i686", "armv7l"))
        elif word == "auto32":
            found.extend(a for a in auto if a in ("i686", "armv7l"))
        elif word == "all":
            found.extend(ARCHITECTURES)
        elif word in ARCHITECTURES:
            found.append(word)
        else:
            raise ManywheelError(
                f"unknown architecture {word!r} (known: {', '.join(ARCHITECTURES)}, native, auto, "
                "auto64, auto32, all)"
            )
    if not found:
        raise ManywheelError("no architecture selected")
    return tuple(dict.fromkeys(found))


@dataclass(frozen=True, slots=True)
class Selection:
    """The identifiers a run builds, and the ones it does not, with the reason."""

    #: Buildable here, in cibuildwheel's order.
    build: tuple[BuildIdentifier, ...]
    #: Named in ``build`` (no wildcard) but not buildable here: reported as failures.
    unavailable: tuple[tuple[BuildIdentifier, str], ...]
    #: Matched by a wildcard but not buildable here: left out quietly (``-v`` lists them).
    left_out: tuple[tuple[BuildIdentifier, str], ...]


def _universe(
    archs: Sequence[str], platforms: Sequence[Platform], named: Iterable[BuildIdentifier]
) -> list[BuildIdentifier]:
    every = [
        BuildIdentifier(impl, version, threaded, platform, arch)
        for impl in PythonImplementation
        for version in KNOWN_PYTHONS
        for threaded in (False, True)
        if not (threaded and impl is PythonImplementation.PYPY)
        for platform in platforms
        for arch in archs
    ]
    return sorted(set(every) | set(named))


def select_identifiers(
    selector: BuildSelector,
    *,
    archs: Sequence[str],
    platforms: Sequence[Platform],
    unavailable: Callable[[BuildIdentifier], str | None],
) -> Selection:
    """Every identifier of ``platforms`` x ``archs`` (and any named in ``build``) that the
    selector admits, split by ``unavailable`` (the environment's answer) into what is built,
    what was named but cannot be, and what a wildcard matched but cannot be."""
    named = set(selector.named())
    build: list[BuildIdentifier] = []
    missing: list[tuple[BuildIdentifier, str]] = []
    left_out: list[tuple[BuildIdentifier, str]] = []
    for identifier in _universe(archs, platforms, named):
        if identifier in named:  # asked for by name: enable groups and archs do not apply
            if selector_matches(selector.skip, str(identifier)):
                continue
            if not selector.admits_python(identifier):
                excluded = f"the project's requires-python ({selector.requires_python}) excludes it"
                missing.append((identifier, excluded))
                continue
        elif not selector(identifier):
            continue
        reason = unavailable(identifier)
        if reason is None:
            build.append(identifier)
        elif identifier in named:
            missing.append((identifier, reason))
        else:
            left_out.append((identifier, reason))
    return Selection(tuple(build), tuple(missing), tuple(left_out))
