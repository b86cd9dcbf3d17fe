"""What a wheel's tags say, from the filename alone: the platform (OS, architecture, libc and
its version) and the Python (implementation, version, free-threaded, stable ABI).

Every tag is read, never executed or downloaded; unknown spellings are kept as they are (an OS
called by the tag's first word), so a new platform shows up in a survey rather than vanishing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "GLIBC_ALIASES",
    "Platform",
    "PythonTag",
    "parse_platform",
    "parse_python",
    "version_text",
]

#: Legacy manylinux names and the glibc each stands for (PEP 513, 571, 599; PEP 600 for the rest).
GLIBC_ALIASES = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}

_VERSIONED = re.compile(r"^(manylinux|musllinux|macosx|ios)_(\d+)_(\d+)_(.+)$")
#: ``android_21_arm64_v8a``: the API level, then the ABI (PEP 738).
_ANDROID = re.compile(r"^android_(\d+)_(.+)$")
_LEGACY = re.compile(r"^(manylinux1|manylinux2010|manylinux2014)_(.+)$")
_WINDOWS = {"win32": "x86", "win_amd64": "amd64", "win_arm64": "arm64", "win_ia64": "ia64"}
_OS_OF = {
    "manylinux": "linux",
    "musllinux": "linux",
    "linux": "linux",
    "macosx": "macos",
    "ios": "ios",
    "android": "android",
    "emscripten": "emscripten",
    "pyodide": "emscripten",
}
_LIBC_OF = {"manylinux": "glibc", "musllinux": "musl"}


def version_text(version: tuple[int, ...] | None) -> str:
    return "" if version is None else ".".join(map(str, version))


@dataclass(frozen=True, slots=True, order=True)
class Platform:
    """One platform tag, understood."""

    #: ``linux``, ``macos``, ``windows``, ``ios``, ``android``, ``emscripten``, ``any``, or the
    #: tag's first word for others (``freebsd``...).
    os: str
    #: The architecture as the tag spells it (``x86_64``, ``aarch64``, ``arm64``, ``amd64``,
    #: ``universal2``, ``wasm32``...); ``any`` for pure wheels.
    arch: str
    #: ``glibc`` (manylinux), ``musl`` (musllinux), or ``None``.
    libc: str | None
    #: The libc, macOS, iOS or Android API version the tag names (its minimum), if any.
    version: tuple[int, ...] | None
    #: The platform family: the tag without its version (``manylinux_x86_64``,
    #: ``musllinux_aarch64``, ``macosx_arm64``, ``win_amd64``, ``any``). Coverage is counted
    #: per family.
    family: str
    #: The tag as written.
    tag: str

    @property
    def generic_linux(self) -> bool:
        """``linux_*``: no libc promise (PyPI refuses such wheels)."""
        return self.os == "linux" and self.libc is None

    @property
    def label(self) -> str:
        """``manylinux x86_64 (glibc ≥ 2.17)``, ``macOS arm64 (≥ 11.0)``, ``any``."""
        if self.os == "any":
            return "any"
        head = self.family.rsplit("_" + self.arch, 1)[0] if self.arch in self.family else self.os
        floor = f" (≥ {version_text(self.version)})" if self.version else ""
        if self.libc is not None:
            floor = f" ({self.libc} ≥ {version_text(self.version)})"
        return f"{head} {self.arch}{floor}"


def parse_platform(tag: str) -> Platform:
    """Understand one platform tag (``manylinux2014_x86_64``, ``macosx_11_0_arm64``...)."""
    if tag == "any":
        return Platform("any", "any", None, None, "any", tag)
    if tag in _WINDOWS:
        return Platform("windows", _WINDOWS[tag], None, None, f"win_{_WINDOWS[tag]}", tag)
    legacy = _LEGACY.match(tag)
    if legacy:
        name, arch = legacy.groups()
        return Platform("linux", arch, "glibc", GLIBC_ALIASES[name], f"manylinux_{arch}", tag)
    android = _ANDROID.match(tag)
    if android:
        level, abi = android.groups()
        return Platform("android", abi, None, (int(level),), f"android_{abi}", tag)
    versioned = _VERSIONED.match(tag)
    if versioned:
        kind, major, minor, arch = versioned.groups()
        version = (int(major), int(minor))
        return Platform(_OS_OF[kind], arch, _LIBC_OF.get(kind), version, f"{kind}_{arch}", tag)
    return _other(tag)


def _other(tag: str) -> Platform:
    """``linux_x86_64``, ``emscripten_3_1_58_wasm32``, ``pyodide_2024_0_wasm32``,
    ``freebsd_14_0_release_amd64``...: the first word is the system, the last the
    architecture, numbers in between its version."""
    words = tag.split("_")
    head = words[0]
    if head == "linux" and len(words) > 1:
        arch = "_".join(words[1:])
        return Platform("linux", arch, None, None, tag, tag)
    numbers = tuple(int(w) for w in words[1:-1] if w.isdigit())
    arch = words[-1] if len(words) > 1 else "unknown"
    return Platform(_OS_OF.get(head, head), arch, None, numbers or None, f"{head}_{arch}", tag)


@dataclass(frozen=True, slots=True, order=True)
class PythonTag:
    """The Python a wheel's interpreter and ABI tags ask for."""

    #: ``cpython``, ``pypy``, ``graalpy``, ``python`` (any implementation: ``py3``), or the tag's
    #: letters for others.
    implementation: str
    #: (major, minor), (major,) for ``py3``, or ``None``.
    version: tuple[int, ...] | None
    #: A free-threaded build (``cp313t``, or the ``abi3t`` stable ABI).
    free_threaded: bool
    #: ``abi3`` / ``abi3t`` (the stable ABI; ``version`` is then the oldest Python), ``none``
    #: (no ABI: any interpreter of that version), or the version-specific ABI tag.
    abi: str
    #: The column a survey counts it in: ``cp313``, ``cp313t``, ``abi3``, ``abi3t``, ``pp310``,
    #: ``graalpy311``, ``py3``.
    key: str

    @property
    def stable_abi(self) -> bool:
        return self.abi in ("abi3", "abi3t")


_INTERPRETER = re.compile(r"^([a-z]+?)(\d+)?$")
_SHORT = {"cp": "cpython", "pp": "pypy", "py": "python", "graalpy": "graalpy", "ip": "ironpython"}


def _split_version(digits: str | None) -> tuple[int, ...] | None:
    if not digits:
        return None
    if len(digits) == 1:
        return (int(digits),)
    return (int(digits[0]), int(digits[1:]))


def parse_python(interpreter: str, abi: str) -> PythonTag:
    """Understand one (interpreter, ABI) pair of a wheel tag."""
    match = _INTERPRETER.match(interpreter)
    letters, digits = (match.group(1), match.group(2)) if match else (interpreter, None)
    implementation = _SHORT.get(letters, letters)
    version = _split_version(digits)
    if abi in ("abi3", "abi3t"):
        return PythonTag(implementation, version, abi == "abi3t", abi, abi)
    if abi == "none":
        key = interpreter if implementation not in ("python",) else f"py{(version or (3,))[0]}"
        return PythonTag(implementation, version, False, abi, key)
    threaded = implementation == "cpython" and bool(re.fullmatch(r"cp\d+t[dmu]*", abi))
    key = f"{interpreter}t" if threaded else interpreter
    return PythonTag(implementation, version, threaded, abi, key)
