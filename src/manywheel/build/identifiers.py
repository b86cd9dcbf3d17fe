"""Build identifiers in cibuildwheel's spelling: ``cp311-manylinux_x86_64``,
``cp313t-musllinux_aarch64``.

An identifier names one wheel to build: the Python (implementation, version, free-threaded or
not) and the Linux platform (manylinux or musllinux, and the architecture). As in cibuildwheel,
the manylinux or musllinux *version* is not part of it: the environment's policy decides that
(``--manylinux manylinux2014`` by default, ``--musllinux musllinux_1_2``).
"""

from __future__ import annotations

import enum
import re

from manywheel.errors import InputError
from manywheel.policy import Libc
from manywheel.values import value_class

__all__ = [
    "ARCHITECTURES",
    "FREE_THREADED_FROM",
    "KNOWN_PYTHONS",
    "BuildIdentifier",
    "Platform",
    "PythonImplementation",
    "gnu_triple",
]

#: The Linux architectures cibuildwheel names, in its order.
ARCHITECTURES = ("x86_64", "i686", "aarch64", "ppc64le", "s390x", "armv7l", "riscv64")

#: The CPython versions the identifier grammar knows (cibuildwheel's range and the next ones).
KNOWN_PYTHONS = tuple((3, minor) for minor in range(6, 16))

#: The first CPython with a free-threaded build (PEP 703).
FREE_THREADED_FROM = (3, 13)


class PythonImplementation(enum.Enum):
    CPYTHON = "cp"
    PYPY = "pp"


class Platform(enum.Enum):
    MANYLINUX = "manylinux"
    MUSLLINUX = "musllinux"

    @property
    def libc(self) -> Libc:
        return Libc.GLIBC if self is Platform.MANYLINUX else Libc.MUSL


_IDENTIFIER = re.compile(
    r"^(?P<impl>cp|pp)(?P<major>3)(?P<minor>\d{1,2})(?P<t>t?)"
    r"-(?P<platform>manylinux|musllinux)_(?P<arch>[a-z0-9_]+)$"
)

#: The GNU machine name of each architecture (``configure --host=<machine>-linux-gnu``).
_GNU_MACHINE = {
    "x86_64": "x86_64",
    "i686": "i686",
    "aarch64": "aarch64",
    "ppc64le": "powerpc64le",
    "s390x": "s390x",
    "armv7l": "arm",
    "riscv64": "riscv64",
}


def gnu_triple(arch: str, libc: Libc) -> str:
    """The GNU target triple (``aarch64-linux-gnu``, ``x86_64-linux-musl``,
    ``arm-linux-gnueabihf``) that ``configure --host`` and cross toolchains understand."""
    machine = _GNU_MACHINE[arch]
    if arch == "armv7l":
        return f"{machine}-linux-{'gnueabihf' if libc is Libc.GLIBC else 'musleabihf'}"
    return f"{machine}-linux-{'gnu' if libc is Libc.GLIBC else 'musl'}"


@value_class
class BuildIdentifier:
    """One wheel to build, e.g. ``cp313t-manylinux_aarch64``. Ordered as cibuildwheel lists
    builds: by Python version, then free-threaded after the regular build, then platform and
    architecture."""

    implementation: PythonImplementation
    version: tuple[int, int]
    free_threaded: bool
    platform: Platform
    arch: str

    def __post_init__(self) -> None:
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {self.arch!r}")
        if self.free_threaded and self.implementation is not PythonImplementation.CPYTHON:
            raise ValueError("only CPython has free-threaded builds")
        if self.free_threaded and self.version < FREE_THREADED_FROM:
            raise ValueError("CPython has free-threaded builds from 3.13 on")

    @classmethod
    def parse(cls, text: str) -> BuildIdentifier:
        """Parse cibuildwheel's spelling; an unknown form is an :class:`InputError` naming it."""
        match = _IDENTIFIER.match(text.strip())
        if match is None:
            raise InputError(
                f"not a build identifier: {text!r} (expected e.g. cp311-manylinux_x86_64, "
                "cp313t-musllinux_aarch64)"
            )
        arch = match["arch"]
        if arch not in ARCHITECTURES:
            raise InputError(
                f"unknown architecture {arch!r} in {text!r} (known: {', '.join(ARCHITECTURES)})"
            )
        impl = PythonImplementation(match["impl"])
        if match["t"] and impl is not PythonImplementation.CPYTHON:
            raise InputError(f"{text!r}: only CPython has free-threaded ('t') builds")
        version = (int(match["major"]), int(match["minor"]))
        if match["t"] and version < FREE_THREADED_FROM:
            raise InputError(f"{text!r}: CPython has free-threaded ('t') builds from 3.13 on")
        return cls(
            implementation=impl,
            version=version,
            free_threaded=bool(match["t"]),
            platform=Platform(match["platform"]),
            arch=arch,
        )

    @property
    def python(self) -> str:
        """The first half: ``cp311``, ``cp313t``, ``pp310``."""
        major, minor = self.version
        return f"{self.implementation.value}{major}{minor}{'t' if self.free_threaded else ''}"

    @property
    def platform_arch(self) -> str:
        """The second half: ``manylinux_x86_64``."""
        return f"{self.platform.value}_{self.arch}"

    @property
    def libc(self) -> Libc:
        return self.platform.libc

    @property
    def version_text(self) -> str:
        """``3.13`` (``3.13t`` when free-threaded): how people name the interpreter."""
        major, minor = self.version
        return f"{major}.{minor}{'t' if self.free_threaded else ''}"

    @property
    def sort_key(self) -> tuple[int, int, int, bool, int, int]:
        impl = 0 if self.implementation is PythonImplementation.CPYTHON else 1
        platform = 0 if self.platform is Platform.MANYLINUX else 1
        return (impl, *self.version, self.free_threaded, platform, ARCHITECTURES.index(self.arch))

    def __str__(self) -> str:
        return f"{self.python}-{self.platform_arch}"

    def __lt__(self, other: BuildIdentifier) -> bool:
        return self.sort_key < other.sort_key
