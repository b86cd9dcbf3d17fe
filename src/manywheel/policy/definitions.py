"""What a policy is: its name and aliases, priority, libc, and per architecture the libraries and
symbol versions a system guaranteed by it provides."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field
from enum import Enum

from manywheel.policy.symbol_versions import AllowedVersions
from manywheel.values import value_class

__all__ = [
    "ANDROID_ABIS",
    "ARCHITECTURES",
    "Libc",
    "Policy",
    "is_dynamic_loader",
    "is_libpython",
    "parse_policy_name",
]

#: Architecture names as they appear in platform tags, in the order they are listed.
ARCHITECTURES = (
    "x86_64",
    "i686",
    "aarch64",
    "armv7l",
    "ppc64le",
    "ppc64",
    "s390x",
    "riscv64",
    "loongarch64",
)

#: The soname of musl's libc per architecture (Alpine names it after the loader). The policy data
#: whitelists ``libc.so``; both names are accepted.
_MUSL_LIBC = {
    "x86_64": "libc.musl-x86_64.so.1",
    "i686": "libc.musl-x86.so.1",
    "aarch64": "libc.musl-aarch64.so.1",
    "armv7l": "libc.musl-armv7.so.1",
    "ppc64le": "libc.musl-ppc64le.so.1",
    "s390x": "libc.musl-s390x.so.1",
    "riscv64": "libc.musl-riscv64.so.1",
    "loongarch64": "libc.musl-loongarch64.so.1",
}

#: (Numbers of at most 9 digits: a longer one is no libc's version.)
_NAME = re.compile(
    r"^(?P<family>manylinux|musllinux)_(?P<major>\d{1,9})_(?P<minor>\d{1,9})$", re.ASCII
)
#: PEP 738: ``android_<API level>``.
_ANDROID_NAME = re.compile(r"^android_(?P<level>[1-9]\d{0,3})$", re.ASCII)
#: PEP 738's ABI names in Android platform tags, by policy architecture.
ANDROID_ABIS = {"aarch64": "arm64_v8a", "x86_64": "x86_64", "armv7l": "armeabi_v7a", "i686": "x86"}
_LOADER = re.compile(r"^(ld-linux.*\.so\.\d+|ld64\.so\.[12]|ld\.so\.1|ld-musl-.*\.so\.1)$")
_LIBPYTHON = re.compile(r"^libpython\d+\.\d+[a-z]*\.so(\.\d+)*$", re.ASCII)


class Libc(Enum):
    GLIBC = "glibc"
    MUSL = "musl"
    #: Bionic (PEP 738 Android wheels); the "version" is the Android API level.
    ANDROID = "android"


def parse_policy_name(name: str) -> tuple[Libc, tuple[int, int]] | None:
    """``manylinux_2_17`` -> (GLIBC, (2, 17)); ``musllinux_1_2`` -> (MUSL, (1, 2));
    ``android_24`` -> (ANDROID, (24, 0)); else None."""
    android = _ANDROID_NAME.match(name)
    if android is not None:
        return Libc.ANDROID, (int(android["level"]), 0)
    match = _NAME.match(name)
    if match is None:
        return None
    libc = Libc.GLIBC if match["family"] == "manylinux" else Libc.MUSL
    return libc, (int(match["major"]), int(match["minor"]))


def is_dynamic_loader(soname: str) -> bool:
    """The program interpreter (``ld-linux-x86-64.so.2``, ``ld64.so.2``, ``ld-musl-*.so.1``):
    part of the libc, always present, never grafted."""
    return _LOADER.match(soname) is not None


def is_libpython(soname: str) -> bool:
    """``libpython3.11.so.1.0``, ``libpython3.13t.so.1.0``, ``libpython2.7.so``."""
    return _LIBPYTHON.match(soname) is not None


@value_class
class Policy:
    """One policy. ``linux`` (priority 0) is the generic policy every wheel satisfies."""

    name: str
    aliases: tuple[str, ...]
    priority: int
    #: ``None`` for the generic ``linux`` policy.
    libc: Libc | None
    libc_version: tuple[int, int] | None
    #: Allowed symbol versions per architecture; its keys are the architectures covered.
    symbol_versions: Mapping[str, AllowedVersions] = field(hash=False, repr=False)
    lib_whitelist: frozenset[str] = field(repr=False)
    #: Symbols that must not be bound from a whitelisted library, by library soname.
    blacklist: Mapping[str, frozenset[str]] = field(hash=False, repr=False)
    #: Where the policy was defined: the shipped resource or a user's policy file.
    source: str = ""

    @property
    def is_generic(self) -> bool:
        return self.libc is None

    @property
    def archs(self) -> tuple[str, ...]:
        """Architectures the policy covers, in :data:`ARCHITECTURES` order."""
        if self.is_generic:
            return ARCHITECTURES
        known = [a for a in ARCHITECTURES if a in self.symbol_versions]
        return (*known, *sorted(set(self.symbol_versions) - set(ARCHITECTURES)))

    def covers(self, arch: str) -> bool:
        return self.is_generic or arch in self.symbol_versions

    def versions(self, arch: str) -> AllowedVersions:
        """Allowed symbol versions on ``arch`` (empty if the policy does not cover it)."""
        return self.symbol_versions.get(arch, _NO_VERSIONS)

    def whitelist(self, arch: str) -> frozenset[str]:
        """Sonames a system satisfying the policy provides on ``arch``."""
        if self.libc is Libc.MUSL and arch in _MUSL_LIBC:
            return self.lib_whitelist | {_MUSL_LIBC[arch]}
        return self.lib_whitelist

    @property
    def api_level(self) -> int | None:
        """The Android API level of an ``android_N`` policy; ``None`` for the others."""
        if self.libc is not Libc.ANDROID or self.libc_version is None:
            return None
        return self.libc_version[0]

    def tag_arch(self, arch: str) -> str:
        """How a platform tag names ``arch``: PEP 738's ABI name for Android (``arm64_v8a``),
        the architecture itself elsewhere."""
        return ANDROID_ABIS.get(arch, arch) if self.libc is Libc.ANDROID else arch

    def tag(self, arch: str) -> str:
        """The platform tag, e.g. ``manylinux_2_17_x86_64`` or ``android_24_arm64_v8a``."""
        return f"{self.name}_{self.tag_arch(arch)}"

    def alias_tags(self, arch: str) -> tuple[str, ...]:
        """The legacy tags, e.g. ``("manylinux2014_x86_64",)``."""
        return tuple(f"{alias}_{self.tag_arch(arch)}" for alias in self.aliases)

    @property
    def libc_version_text(self) -> str:
        """``glibc 2.17``, ``musl 1.2``, ``Android API 24`` or ``any``."""
        if self.libc is None or self.libc_version is None:
            return "any"
        if self.libc is Libc.ANDROID:
            return f"Android API {self.libc_version[0]}"
        major, minor = self.libc_version
        return f"{self.libc.value} {major}.{minor}"


_NO_VERSIONS = AllowedVersions.from_names(())
