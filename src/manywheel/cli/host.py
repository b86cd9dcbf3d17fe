"""What this machine's dynamic loader takes from the machine it runs on: the value of
``$PLATFORM`` and the glibc-hwcaps and legacy hwcaps subdirectories it searches. ``lddtree``
passes them down (:class:`~manywheel.linker.SearchSettings`) when it emulates this machine's
own loader; an audit judges a wheel for every machine and keeps the architecture's defaults.

``$PLATFORM`` is not always the kernel's ``AT_PLATFORM``: on x86_64, glibc 2.26 and later set it
from the CPU on Intel processors — ``haswell`` with AVX2, FMA, BMI1/2, LZCNT, MOVBE and POPCNT,
``xeon_phi`` with AVX512ER/PF (``sysdeps/x86/cpu-features.c``; glibc 2.41 still does) — so a
RUNPATH of ``$ORIGIN/$PLATFORM`` means ``$ORIGIN/haswell`` there.

Nothing from an input is run. The host's own loader is asked, with an empty environment:
``ld.so --list-diagnostics`` (glibc 2.33 and later) prints ``dl_platform`` and the hwcaps
subdirectories, ``ld.so --help`` the legacy ones (glibc before 2.37). Before 2.33, the value
comes from ``/proc/cpuinfo`` by glibc's rule (:func:`x86_platform`), for the glibc this process
runs on (``confstr(_CS_GNU_LIBC_VERSION)``). When none of that works
the architecture's usual value stands, and ``-v`` says why.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from pathlib import Path

from manywheel.values import value_class

__all__ = ["HostLoader", "first_processor", "host_arch", "host_loader", "x86_platform"]

logger = logging.getLogger(__name__)

#: ``os.uname().machine`` -> the ELF architectures whose programs run natively.
_NATIVE = {
    "x86_64": ("x86_64", "i686"),
    "aarch64": ("aarch64",),
    "ppc64le": ("ppc64le",),
    "ppc64": ("ppc64",),
    "s390x": ("s390x",),
    "riscv64": ("riscv64",),
    "loongarch64": ("loongarch64",),
    "armv7l": ("armv7l",),
    "armv8l": ("armv7l",),
    "i686": ("i686",),
}
_TIMEOUT = 10
_DIAGNOSTIC = re.compile(
    r'^(dl_platform|dl_hwcaps_subdirs)="([^"]*)"$|^(dl_hwcaps_subdirs_active)=0x([0-9a-f]+)$',
    re.MULTILINE,
)
_VERSION = re.compile(r"^glibc (\d+)\.(\d+)")
_LEGACY = re.compile(r"^  (\S+) \(([^)]*)\)$", re.MULTILINE)


def host_arch() -> str | None:
    """This machine's architecture as ELF files and platform tags spell it (``x86_64``,
    ``aarch64``, ``i686``...), ``None`` for one no policy names."""
    native = _NATIVE.get(os.uname().machine)
    return native[0] if native else None


@value_class
class HostLoader:
    """The machine-dependent facts of one architecture's loader on this machine."""

    #: ``$PLATFORM`` (``None``: the architecture's usual value).
    platform: str | None = None
    #: Active glibc-hwcaps subdirectory names, best first.
    hwcaps: tuple[str, ...] = ()
    #: Legacy hwcaps subdirectories searched (glibc before 2.37), in the loader's order.
    legacy_subdirs: tuple[str, ...] = ()


def host_loader(arch: str, interpreter: str) -> HostLoader:
    """What the loader ``interpreter`` (the glibc loader of ``arch``, on this machine's ``/``)
    takes from this machine; an empty :class:`HostLoader` when ``arch`` does not run natively
    here or the loader cannot say."""
    if arch not in _NATIVE.get(os.uname().machine, ()) or not Path(interpreter).is_file():
        return HostLoader()
    diagnostics = _ask(interpreter, "--list-diagnostics")
    if diagnostics is not None and "dl_platform=" in diagnostics:
        platform, hwcaps = _parse_diagnostics(diagnostics)
        legacy = _ask(interpreter, "--help") or ""
        return HostLoader(platform, hwcaps, tuple(_legacy_subdirs(legacy)))
    version = _VERSION.search(_glibc_version())
    if version is None or arch != "x86_64":
        return HostLoader()
    try:
        cpuinfo = first_processor(Path("/proc/cpuinfo").read_text("ascii", "replace"))
    except OSError as e:
        logger.info("cannot read /proc/cpuinfo (%s): $PLATFORM is taken as %s", e, arch)
        return HostLoader()
    return HostLoader(x86_platform((int(version[1]), int(version[2])), cpuinfo))


def _glibc_version() -> str:
    """``glibc 2.31``: the C library this process runs on, the host's (a loader before 2.33
    answers neither ``--list-diagnostics`` nor ``--version``)."""
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError):  # not glibc
        return ""


def _ask(loader: str, option: str) -> str | None:
    """The host loader's answer to ``option`` (run with an empty environment, so nothing but
    the machine shapes it), or ``None``."""
    try:
        done = subprocess.run(
            [loader, option],
            env={},
            capture_output=True,
            text=True,
            errors="replace",
            timeout=_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as e:
        logger.info("cannot ask %s %s: %s", loader, option, e)
        return None
    return done.stdout if done.returncode == 0 else None


def _parse_diagnostics(text: str) -> tuple[str | None, tuple[str, ...]]:
    values = {}
    for match in _DIAGNOSTIC.finditer(text):
        if match[1]:
            values[match[1]] = match[2]
        else:
            values[match[3]] = match[4]
    subdirs = [s for s in values.get("dl_hwcaps_subdirs", "").split(":") if s]
    mask = int(values.get("dl_hwcaps_subdirs_active", "0"), 16)
    # bit i is the i-th subdirectory listed (glibc's elf/dl-hwcaps.c)
    active = tuple(s for i, s in enumerate(subdirs) if mask >> i & 1)
    return values.get("dl_platform") or None, active


def _legacy_subdirs(help_text: str) -> list[str]:
    """The legacy subdirectories the loader searches, in its order, from what ``ld.so --help``
    lists under "Legacy HWCAP subdirectories" (the platform, ``tls``, then the hwcap names
    from the highest bit down, each "searched" or not): every combination of ``tls``, the
    platform and the searched hwcap names, in that order, counted down as a binary number
    whose highest bit is ``tls`` (glibc's ``_dl_important_hwcaps``)."""
    _, found, section = help_text.partition("Legacy HWCAP subdirectories")
    if not found:
        return []
    platform: list[str] = []
    names: list[str] = []
    tls = False
    for name, attributes in _LEGACY.findall(section.split("\n\n", 1)[0]):
        if "searched" not in attributes:
            continue
        if name == "tls":
            tls = True
        elif "AT_PLATFORM" in attributes:
            platform.append(name)
        else:
            names.append(name)
    parts = (["tls"] if tls else []) + platform + names
    count = len(parts)
    return [
        "/".join(part for i, part in enumerate(parts) if mask >> (count - 1 - i) & 1)
        for mask in range(2**count - 1, 0, -1)
    ]


def first_processor(cpuinfo: str) -> dict[str, str]:
    """The fields of the first processor in the text of ``/proc/cpuinfo``."""
    facts: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            break
        key, _, value = line.partition(":")
        facts[key.strip()] = value.strip()
    return facts


def x86_platform(glibc: tuple[int, int], cpuinfo: dict[str, str]) -> str | None:
    """``$PLATFORM`` of x86_64 glibc ``glibc`` on the CPU ``cpuinfo`` describes (the first
    processor's ``/proc/cpuinfo`` fields), by ``sysdeps/x86/cpu-features.c``: from 2.26 on, on
    an Intel CPU, ``xeon_phi`` or ``haswell``; ``None`` (the kernel's ``x86_64``) otherwise.
    The kernel lists AVX features only when it enables their state, as glibc's "usable"
    requires."""
    if glibc < (2, 26) or cpuinfo.get("vendor_id") != "GenuineIntel":
        return None
    flags = set(cpuinfo.get("flags", "").split())
    if {"avx512f", "avx512cd", "avx512er", "avx512pf"} <= flags:
        return "xeon_phi"
    # LZCNT is the "abm" flag (CPUID 0x80000001 ECX bit 5)
    if {"avx2", "fma", "bmi1", "bmi2", "abm", "movbe", "popcnt"} <= flags:
        return "haswell"
    return None
