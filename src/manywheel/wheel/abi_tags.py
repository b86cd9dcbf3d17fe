"""What the Python half of a wheel's tags claims: each (python tag, ABI tag) pair read as the
CPython interpreters it promises to work on.

- ``cp311-cp311``: CPython 3.11, GIL-enabled build, version-specific ABI;
- ``cp313-cp313t``: CPython 3.13, free-threaded build (PEP 703);
- ``cp38-abi3``: the Stable ABI, GIL-enabled CPython 3.8 and every later 3.x (PEP 384);
- ``cp315-abi3t``: the Stable ABI for free-threaded builds, 3.15 and later (PEP 803); the
  compressed set ``cp315-abi3.abi3t`` claims both;
- ``py3-none``: no Python ABI at all; anything else (PyPy, GraalPy, Python 2) is ``OTHER``.

Compressed tag sets (``cp36.cp37-abi3``, ``abi3.abi3t``) expand to one claim per pair.
"""

from __future__ import annotations

import re
from enum import Enum

from manywheel.values import value_class
from manywheel.wheel.filename import WheelFilename

__all__ = ["AbiKind", "InterpreterClaim", "cpython_version", "interpreter_claims"]

_CPYTHON = re.compile(r"cp(\d)(\d+)\Z")
_CP_ABI = re.compile(r"cp(\d)(\d+)([a-z]*)\Z")


class AbiKind(Enum):
    #: ``cpXY`` (also ``cp37m`` and debug ``cpXYd``): one CPython version, one build.
    CPYTHON = "cpython"
    #: ``abi3``: the Stable ABI of GIL-enabled builds.
    ABI3 = "abi3"
    #: ``abi3t``: the Stable ABI of free-threaded builds.
    ABI3T = "abi3t"
    #: ``none``: no Python ABI.
    NONE = "none"
    OTHER = "other"


@value_class
class InterpreterClaim:
    """One (python, abi) pair of a wheel's tags."""

    python: str
    abi: str
    kind: AbiKind
    #: The CPython version of the python tag (``cp38`` -> (3, 8)); ``None`` for ``py3`` & co.
    version: tuple[int, int] | None
    #: Claims the free-threaded build (``cp313t``, ``abi3t``).
    free_threaded: bool
    #: The ABI tag's flags after the version (``t``, ``d``, ``m``), for ``CPYTHON``.
    flags: str = ""

    @property
    def tag(self) -> str:
        return f"{self.python}-{self.abi}"

    @property
    def stable(self) -> bool:
        """A Stable ABI claim (``abi3`` or ``abi3t``) with a CPython baseline."""
        return self.kind in (AbiKind.ABI3, AbiKind.ABI3T) and self.version is not None


def cpython_version(python_tag: str) -> tuple[int, int] | None:
    """``cp311`` -> (3, 11); ``None`` for anything that is not ``cp`` + major + minor."""
    match = _CPYTHON.match(python_tag)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _claim(python: str, abi: str) -> InterpreterClaim:
    version = cpython_version(python)
    if abi in ("abi3", "abi3t"):
        kind = AbiKind.ABI3 if abi == "abi3" else AbiKind.ABI3T
        return InterpreterClaim(python, abi, kind, version, abi == "abi3t")
    if abi == "none":
        return InterpreterClaim(python, abi, AbiKind.NONE, version, False)
    match = _CP_ABI.match(abi)
    if match and version is not None:
        flags = match.group(3)
        if (int(match.group(1)), int(match.group(2))) == version and set(flags) <= set("tdm"):
            return InterpreterClaim(python, abi, AbiKind.CPYTHON, version, "t" in flags, flags)
    return InterpreterClaim(python, abi, AbiKind.OTHER, version, False)


def interpreter_claims(filename: WheelFilename) -> tuple[InterpreterClaim, ...]:
    """Every (python, abi) pair of the filename's compressed tag sets, in the filename's order."""
    return tuple(_claim(py, abi) for py in filename.python_tags for abi in filename.abi_tags)
