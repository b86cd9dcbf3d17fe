"""Which identifiers to build: cibuildwheel's ``build``/``skip`` selectors, ``archs`` and
``enable`` groups, with its rules.

A selector is a space-separated list of patterns; each is expanded as a shell expands braces
(``cp3{10,11}-*``, ``cp3{8..13}-*``, nested) and matched with :func:`fnmatch.fnmatchcase`
(``*``, ``?``, ``[...]``). An identifier is built when ``build`` matches it, ``skip`` does not,
the project's ``requires-python`` admits its Python (``X.Y.99``, as cibuildwheel checks), and
the group it needs is enabled (PyPy needs ``pypy``, 3.13's free-threaded build
``cpython-freethreading``). This is the one implementation: the command line and the
configuration (:class:`~manywheel.build.config.GlobalOptions`) both select through it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Sequence
from fnmatch import fnmatchcase

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from manywheel.build.identifiers import (
    ARCHITECTURES,
    FREE_THREADED_FROM,
    KNOWN_PYTHONS,
    BuildIdentifier,
    Platform,
    PythonImplementation,
)
from manywheel.build.patterns import selector_matches
from manywheel.errors import InputError, ManywheelError
from manywheel.values import value_class

__all__ = [
    "BuildSelector",
    "EnableGroup",
    "Selection",
    "parse_archs",
    "python_version",
    "select_identifiers",
]


class EnableGroup(enum.Enum):
    """Builds left out unless enabled (cibuildwheel's ``enable``): cibuildwheel 4's groups, and
    ``cpython-freethreading`` for CPython 3.13's free-threaded build (the group cibuildwheel 3
    needed for it; cibuildwheel 4 dropped 3.13t). Free-threaded builds from 3.14 on need no
    group, as in cibuildwheel >= 3.1."""

    CPYTHON_FREETHREADING = "cpython-freethreading"
    CPYTHON_PRERELEASE = "cpython-prerelease"
    GRAALPY = "graalpy"
    PYPY = "pypy"
    PYPY_EOL = "pypy-eol"
    PYODIDE_EOL = "pyodide-eol"
    PYODIDE_PRERELEASE = "pyodide-prerelease"

    @classmethod
    def parse(cls, words: Iterable[str]) -> frozenset[EnableGroup]:
        """Group names or ``all``; an unknown name is a :class:`ManywheelError` naming it."""
        groups: set[EnableGroup] = set()
        for word in words:
            if word == "all":
                groups |= set(cls)
                continue
            try:
                groups.add(cls(word))
            except ValueError:
                known = ", ".join(g.value for g in cls)
                raise ManywheelError(
                    f"unknown enable group {word!r} (known: {known}, all)"
                ) from None
        return frozenset(groups)

    @classmethod
    def needed_by(cls, identifier: str) -> EnableGroup | None:
        """The group ``identifier`` (cibuildwheel's spelling, any platform) needs, if any."""
        python = identifier.split("-", 1)[0]
        if fnmatchcase(identifier, "cp313t-*"):
            return cls.CPYTHON_FREETHREADING
        if any(fnmatchcase(python, f"{p}*") for p in PRERELEASE_PYTHONS):
            return cls.CPYTHON_PRERELEASE
        if fnmatchcase(identifier, "pp3?-*") or fnmatchcase(identifier, "pp310-*"):
            return cls.PYPY_EOL
        if python.startswith("pp"):
            return cls.PYPY
        if python.startswith("gp"):
            return cls.GRAALPY
        if fnmatchcase(identifier, "cp312-pyodide_*"):
            return cls.PYODIDE_EOL
        return None


#: The CPython versions cibuildwheel's ``cpython-prerelease`` group covers.
PRERELEASE_PYTHONS = ("cp316",)


def _has_wildcard(pattern: str) -> bool:
    return any(char in pattern for char in "*?[{")


def python_version(identifier: str) -> tuple[int, int] | None:
    """The Python version of an identifier in cibuildwheel's spelling (``cp313t-...``,
    ``gp312_250-...``), read as cibuildwheel reads it; ``None`` when it has none."""
    python = identifier.split("-", 1)[0].split("_", 1)[0].removesuffix("t")
    if len(python) < 4 or not python[2:].isdigit():
        return None
    return int(python[2]), int(python[3:])


@value_class
class BuildSelector:
    """cibuildwheel's build selection, for identifiers given as :class:`BuildIdentifier` or in
    cibuildwheel's spelling (any platform, GraalPy's included). ``build=None`` means the
    default ``*`` (what the machine can build); an explicit ``build`` asks for every identifier
    it matches, and names those it spells out (:meth:`named`)."""

    build: str | None = None
    skip: str = ""
    requires_python: SpecifierSet | None = None
    enable: frozenset[EnableGroup] = frozenset()

    def admits_python(self, identifier: BuildIdentifier | str) -> bool:
        """Whether ``requires-python`` admits the identifier's Python (as ``X.Y.99``)."""
        version = python_version(str(identifier))
        if self.requires_python is None or version is None:
            return True
        major, minor = version
        return self.requires_python.contains(Version(f"{major}.{minor}.99"), prereleases=True)

    def enabled(self, identifier: BuildIdentifier | str) -> bool:
        """Whether the group the identifier needs (if any) is enabled."""
        group = EnableGroup.needed_by(str(identifier))
        return group is None or group in self.enable

    def __call__(self, identifier: BuildIdentifier | str) -> bool:
        text = str(identifier)
        if not self.admits_python(text) or not self.enabled(text):
            return False
        return selector_matches(self.build or "*", text) and not selector_matches(self.skip, text)

    def named(self, where: str = "--build") -> tuple[BuildIdentifier, ...]:
        """The identifiers ``build`` names literally (no wildcard): asked for by name, they are
        reported when they cannot be built instead of being left out quietly. A literal that
        is not an identifier is a :class:`ManywheelError` starting with ``where``."""
        if self.build is None:
            return ()
        try:
            words = self.build.split()
            return tuple(BuildIdentifier.parse(w) for w in words if not _has_wildcard(w))
        except InputError as e:
            raise ManywheelError(f"{where}: {e}") from e


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


@value_class
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
        if not threaded or (impl is PythonImplementation.CPYTHON and version >= FREE_THREADED_FROM)
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
