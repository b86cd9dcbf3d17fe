"""Symbol version names (``GLIBC_2.17``, ``CXXABI_LDBL_1.3``) and the versions a policy allows.

A numbered version name is a *namespace* followed by ``_`` and a dotted number: the namespace is
everything before the number, so ``CXXABI_LDBL_1.3`` belongs to ``CXXABI_LDBL`` and
``ZLIB_NG_2.1.0`` to ``ZLIB_NG`` (auditwheel cuts at the first ``_`` and folds them into
``CXXABI`` and ``ZLIB``). A name without a trailing number (``GLIBC_PRIVATE``,
``GLIBC_ABI_DT_RELR``, ``CXXABI_FLOAT128``) is a standalone marker of the family named by its
first component. Numbers compare numerically: ``GLIBC_2.9`` is older than ``GLIBC_2.17``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import field
from enum import Enum
from types import MappingProxyType

from manywheel.values import value_class

__all__ = ["AllowedVersions", "SymbolVersion", "VersionStatus", "VersionTable"]

#: Each part of the number has at most 9 digits (a name with a longer one, which no library
#: defines, is a marker: its digits are never turned into an integer of unbounded size).
_NUMBERED = re.compile(r"^(?P<namespace>.+?)_(?P<number>\d{1,9}(?:\.\d{1,9})*)$", re.ASCII)


@value_class
class SymbolVersion:
    """One version name, parsed."""

    name: str
    namespace: str
    #: The dotted number as integers, or ``None`` for a marker such as ``GLIBC_PRIVATE``.
    number: tuple[int, ...] | None

    @classmethod
    def parse(cls, name: str) -> SymbolVersion:
        """Parse any version name; a name that is not ``NAMESPACE_1.2.3`` becomes a marker.
        (Each distinct name is parsed once: the policies repeat the same few hundred names
        some 1,500 times per architecture.)"""
        parsed = _PARSED.get(name)
        if parsed is None:
            parsed = _PARSED[name] = cls._parse(name)
        return parsed

    @classmethod
    def _parse(cls, name: str) -> SymbolVersion:
        match = _NUMBERED.match(name)
        if match is not None:
            number = tuple(int(part) for part in match["number"].split("."))
            return cls(name, match["namespace"], number)
        return cls(name, name.split("_", 1)[0], None)

    @property
    def is_private(self) -> bool:
        """``GLIBC_PRIVATE`` and the like: internal to the library, never part of its ABI."""
        return self.number is None and self.name.endswith("_PRIVATE")

    def is_newer_than(self, other: SymbolVersion) -> bool:
        """Numeric comparison within one namespace; markers are never newer."""
        if self.namespace != other.namespace or self.number is None or other.number is None:
            return False
        return self.number > other.number


#: Parsed version names (a pure function of the name, so shared by every policy and wheel).
_PARSED: dict[str, SymbolVersion] = {}


class VersionStatus(Enum):
    """How one needed version fares against what a policy's libraries provide."""

    ALLOWED = "allowed"
    #: Numbered, in a namespace the policy knows, and newer than its newest version there.
    TOO_NEW = "too-new"
    #: In a namespace the policy knows, not newer than its newest, but not provided (a gap in
    #: the number sequence on this architecture, or a marker the policy's libraries lack).
    NOT_PROVIDED = "not-provided"
    #: A namespace the policy's libraries do not define at all.
    UNKNOWN_NAMESPACE = "unknown-namespace"
    #: ``GLIBC_PRIVATE``: never allowed.
    PRIVATE = "private"


@value_class
class AllowedVersions:
    """The symbol versions a policy's system libraries provide on one architecture."""

    names: frozenset[str]
    #: The newest numbered version of each namespace (namespaces with only markers are absent).
    newest: Mapping[str, SymbolVersion] = field(hash=False)
    namespaces: frozenset[str]

    @classmethod
    def from_names(cls, names: Iterable[str], namespaces: Iterable[str] = ()) -> AllowedVersions:
        """Build from version names; ``namespaces`` adds namespaces declared with no version
        (manylinux1's ``"ZLIB": []``: its libz has no versioned symbols at all)."""
        parsed = [SymbolVersion.parse(name) for name in names]
        newest: dict[str, SymbolVersion] = {}
        for version in parsed:
            best = newest.get(version.namespace)
            if version.number is not None and (best is None or version.is_newer_than(best)):
                newest[version.namespace] = version
        return cls(
            names=frozenset(v.name for v in parsed),
            newest=MappingProxyType(dict(sorted(newest.items()))),
            namespaces=frozenset(v.namespace for v in parsed) | frozenset(namespaces),
        )

    @property
    def markers(self) -> tuple[str, ...]:
        """The allowed names without a number (``GLIBC_ABI_DT_RELR``, ``CXXABI_FLOAT128``)."""
        return tuple(sorted(n for n in self.names if SymbolVersion.parse(n).number is None))

    @property
    def checked(self) -> bool:
        """False when the policy lists no symbol versions for the architecture (musllinux):
        then nothing is known and needed versions are not judged."""
        return bool(self.namespaces)

    def judge(self, version: SymbolVersion) -> VersionStatus:
        """Whether ``version`` is provided; private versions never are."""
        if version.is_private:
            return VersionStatus.PRIVATE
        if version.name in self.names:
            return VersionStatus.ALLOWED
        if version.namespace not in self.namespaces:
            return VersionStatus.UNKNOWN_NAMESPACE
        newest = self.newest.get(version.namespace)
        if newest is not None and version.is_newer_than(newest):
            return VersionStatus.TOO_NEW
        return VersionStatus.NOT_PROVIDED


class VersionTable(Mapping[str, AllowedVersions]):
    """A policy's allowed versions per architecture, parsed on first use of each architecture
    (a run judges one architecture; parsing all ~10,000 names up front cost most of ``show``'s
    start-up). :meth:`names` answers from the raw names without parsing."""

    __slots__ = ("_parsed", "_raw")

    def __init__(self, raw: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]) -> None:
        #: arch -> (version names, namespaces declared).
        self._raw = dict(raw)
        self._parsed: dict[str, AllowedVersions] = {}

    def __getitem__(self, arch: str) -> AllowedVersions:
        found = self._parsed.get(arch)
        if found is None:
            names, namespaces = self._raw[arch]
            found = self._parsed[arch] = AllowedVersions.from_names(names, namespaces)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __contains__(self, arch: object) -> bool:
        return arch in self._raw  # without parsing (Mapping's would)

    def names(self, arch: str) -> frozenset[str]:
        return frozenset(self._raw[arch][0])
