"""Android (PEP 738) policies: one per API level, and what each level guarantees.

auditwheel's ``android-policy.json`` lists the levels at which the NDK's stable libraries changed
(android_21, 24, 26, 27). A wheel may be tagged with any level, so the policy of level N is the
listed one of the highest level <= N under the name ``android_N`` (as auditwheel does), with
priority ``100 - N`` (the listed ones have exactly that), so a lower level is the better tag.

Beyond the libraries, a level guarantees what Bionic provides at it, which the data file does not
say and which decides the API level a file really needs:

* the symbol versions of libc.so, libm.so and libdl.so: Bionic versions every exported symbol by
  the release that added it (``LIBC`` for API <= 23, ``LIBC_N`` for 24, ``LIBC_O`` for 26...;
  ``libc/libc.map.txt``, ``libm/libm.map.txt``, ``libdl/libdl.map.txt`` in AOSP's bionic);
* DT_RUNPATH, which Bionic reads from API 24 on (``android-changes-for-ndk-developers.md``):
  below it nothing in a wheel can find a library of the wheel, so nothing can be grafted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from types import MappingProxyType

from manywheel.policy.definitions import Libc, Policy
from manywheel.policy.requirements import WheelRequirements

__all__ = [
    "BIONIC_VERSIONS",
    "LOWEST_API_LEVEL",
    "RUNPATH_API_LEVEL",
    "android_ladder",
    "android_levels",
    "android_policy",
    "bionic_version_level",
    "is_bionic_library",
]

#: The lowest level any policy lists (PEP 738's minimum, Android 5.0).
LOWEST_API_LEVEL = 21
#: Bionic honours DT_RUNPATH (and ``$ORIGIN`` in it) from this level on.
RUNPATH_API_LEVEL = 24

#: Library -> symbol version -> the API level that introduced it, on arm64 and x86_64 (whose
#: first level is 21). From the version scripts' ``introduced=`` annotations in AOSP bionic.
#: ``LIBC_PRIVATE``, ``LIBC_PLATFORM`` and ``LIBC_DEPRECATED`` are platform-internal: absent.
BIONIC_VERSIONS: Mapping[str, Mapping[str, int]] = MappingProxyType(
    {
        "libc.so": MappingProxyType(
            {
                "LIBC": 21,
                "LIBC_N": 24,
                "LIBC_O": 26,
                "LIBC_P": 28,
                "LIBC_Q": 29,
                "LIBC_R": 30,
                "LIBC_S": 31,
                "LIBC_T": 33,
                "LIBC_U": 34,
                "LIBC_V": 35,
                "LIBC_36": 36,
                "LIBC_37": 37,
            }
        ),
        "libm.so": MappingProxyType({"LIBC": 21, "LIBC_O": 26}),
        "libdl.so": MappingProxyType({"LIBC": 21, "LIBC_N": 24, "LIBC_OMR1": 27}),
    }
)


def bionic_version_level(library: str, version: str) -> int | None:
    """The API level that introduced ``version`` of Bionic's ``library`` (``None``: not a public
    version of it, or not a Bionic library)."""
    return BIONIC_VERSIONS.get(library, {}).get(version)


def is_bionic_library(library: str) -> bool:
    """libc.so, libm.so, libdl.so: the libraries whose versions name their API level."""
    return library in BIONIC_VERSIONS


def android_policy(listed: Iterable[Policy], level: int) -> Policy | None:
    """The policy of API ``level``: the listed Android policy of the highest level <= ``level``,
    renamed ``android_<level>``; ``None`` below the lowest listed level."""
    if level >= 100:  # priority 100 - level must stay above the generic policy's 0
        return None
    below = [p for p in listed if p.api_level is not None and p.api_level <= level]
    if not below:
        return None
    base = max(below, key=lambda p: p.api_level or 0)
    if base.api_level == level:
        return base
    return replace(
        base, name=f"android_{level}", aliases=(), priority=100 - level, libc_version=(level, 0)
    )


def android_levels(req: WheelRequirements) -> set[int]:
    """The API levels where a wheel's verdict can change: its tag's, its files' ident notes', and
    those of the Bionic versions its files need (the listed levels are added by the caller)."""
    levels = set() if req.android_tag_level is None else {req.android_tag_level}
    for elf in (*req.files, *req.libraries.values()):
        if elf.android_api_level is not None:
            levels.add(elf.android_api_level)
        for use in elf.needed:
            for version in use.versions:
                level = bionic_version_level(use.soname, version)
                if level is not None:
                    levels.add(level)
    return levels


def android_ladder(policies: Iterable[Policy], levels: Iterable[int]) -> list[Policy]:
    """``policies`` with an ``android_N`` policy added for each of ``levels`` that has none
    (levels below the lowest listed one are skipped)."""
    out = list(policies)
    listed = [p for p in out if p.libc is Libc.ANDROID]
    have = {p.api_level for p in listed}
    for level in sorted(set(levels) - have):
        policy = android_policy(listed, level)
        if policy is not None:
            out.append(policy)
    return out
