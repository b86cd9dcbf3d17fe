"""The wheel's libc family and, for musl, the musl version it needs — from the wheel itself (its
tags, its ELF files, the libc they resolve to in the audited root), never from the machine the
tool runs on."""

from __future__ import annotations

import re
from collections.abc import Iterable

from manywheel.elf import ElfFile
from manywheel.linker import DependencyTree, FileSystem, Flavor, detect_flavor
from manywheel.policy import Libc, parse_policy_name
from manywheel.wheel import WheelFilename

__all__ = [
    "android_tag_level",
    "flavor_of",
    "libc_of",
    "musl_version_from_libc",
    "musl_version_of",
]

#: musl's libc.so carries its version as a NUL-terminated string (``VERSION`` in version.h).
_MUSL_VERSION = re.compile(rb"\x00(1\.\d{1,2}\.\d{1,3})\x00")


def _tag_libc(filename: WheelFilename) -> tuple[Libc, tuple[int, int]] | None:
    """The libc and its oldest version the wheel's platform tags claim (``None``: no claim)."""
    found = {p for p in map(_policy_of, filename.platform_tags) if p is not None}
    if len({libc for libc, _ in found}) != 1:
        return None
    return min(found, key=lambda f: f[1])


def _policy_of(platform: str) -> tuple[Libc, tuple[int, int]] | None:
    """``musllinux_1_2_x86_64`` -> (MUSL, (1, 2)); ``android_24_arm64_v8a`` -> (ANDROID,
    (24, 0)); legacy aliases and ``linux_*`` -> None."""
    parts = platform.split("_")
    if parts[0] == "android":
        return parse_policy_name("_".join(parts[:2]))
    return parse_policy_name("_".join(parts[:3]))


def libc_of(filename: WheelFilename, elves: Iterable[ElfFile]) -> Libc:
    """The libc the wheel's tags name (musllinux, android, manylinux); untagged, Android when an
    ELF member is Bionic's, musl when one is musl's, glibc otherwise."""
    tagged = _tag_libc(filename)
    if tagged is not None:
        return tagged[0]
    flavors = {detect_flavor(e) for e in elves}
    if Flavor.BIONIC in flavors:
        return Libc.ANDROID
    return Libc.MUSL if Flavor.MUSL in flavors else Libc.GLIBC


def flavor_of(libc: Libc) -> Flavor:
    """The loader whose rules resolve a wheel of ``libc``."""
    return {Libc.MUSL: Flavor.MUSL, Libc.ANDROID: Flavor.BIONIC}.get(libc, Flavor.GLIBC)


def android_tag_level(filename: WheelFilename) -> int | None:
    """The lowest API level the wheel's ``android_N_<abi>`` tags claim, ``None`` without one."""
    tagged = _tag_libc(filename)
    return tagged[1][0] if tagged is not None and tagged[0] is Libc.ANDROID else None


def musl_version_from_libc(data: bytes) -> tuple[int, int] | None:
    """The (major, minor) of the musl whose libc.so bytes are ``data``, if it says."""
    match = _MUSL_VERSION.search(data)
    if match is None:
        return None
    major, minor, _ = match.group(1).split(b".")
    return int(major), int(minor)


def musl_version_of(
    filename: WheelFilename, trees: Iterable[DependencyTree], fs: FileSystem
) -> tuple[int, int] | None:
    """The musl version a musl wheel needs: its musllinux tag's, else that of the musl libc its
    ELF files resolve to in the audited system (the build root), else ``None``."""
    tagged = _tag_libc(filename)
    if tagged is not None and tagged[0] is Libc.MUSL:
        return tagged[1]
    for tree in trees:
        for obj in tree.objects:
            name = obj.soname or obj.path.rsplit("/", 1)[-1]
            if name == "libc.so" or name.startswith(("libc.musl-", "ld-musl-")):
                data = fs.read_bytes(obj.realpath)
                version = None if data is None else musl_version_from_libc(data)
                if version is not None:
                    return version
    return None
