"""Why a policy does not allow a wheel: one :class:`Reason` per culprit."""

from __future__ import annotations

from enum import Enum

from manywheel.values import value_class

__all__ = ["Reason", "ReasonKind"]


class ReasonKind(Enum):
    """The kinds of reasons, each with whether a repair removes it."""

    #: The libc family of the wheel is not the policy's (glibc wheel, musllinux policy).
    WRONG_LIBC = "wrong-libc"
    #: The policy has no data for the wheel's architecture.
    ARCH_NOT_COVERED = "arch-not-covered"
    #: The wheel needs a newer musl than the policy guarantees.
    MUSL_TOO_NEW = "musl-too-new"
    #: The musl version the wheel needs is unknown (untagged, and its files tell nothing).
    MUSL_UNKNOWN = "musl-unknown"
    #: A library outside the wheel, not on the whitelist: a repair grafts it.
    NOT_WHITELISTED = "not-whitelisted"
    #: A library not on the whitelist that was not found: nothing to graft.
    LIBRARY_NOT_FOUND = "library-not-found"
    #: A symbol version newer than the policy's libraries provide.
    VERSION_TOO_NEW = "version-too-new"
    #: A symbol version in a known namespace that the policy's libraries lack.
    VERSION_NOT_PROVIDED = "version-not-provided"
    #: A symbol version in a namespace the policy's libraries do not define.
    VERSION_UNKNOWN_NAMESPACE = "version-unknown-namespace"
    #: ``GLIBC_PRIVATE``: glibc's internal interface.
    VERSION_PRIVATE = "version-private"
    #: A blacklisted symbol bound from a whitelisted library.
    BLACKLISTED_SYMBOL = "blacklisted-symbol"
    #: The file needs an x86 ISA level above the architecture's baseline.
    ISA_LEVEL = "isa-level"
    #: The file asks for an executable stack (glibc >= 2.41 refuses to dlopen it).
    EXECUTABLE_STACK = "executable-stack"
    #: The file links libpython (a repair drops the DT_NEEDED entry).
    LIBPYTHON = "libpython"
    #: The file uses ``PyFPE_jbuf`` (removed in Python 3.7; manylinux forbids it).
    PYFPE_JBUF = "pyfpe-jbuf"
    #: The file uses UCS2 Python 2 symbols (manylinux forbids narrow-unicode builds).
    UCS2 = "ucs2"
    #: Android: the file was built for a higher API level (its ident note). (A Bionic symbol
    #: version of a higher level is a :attr:`VERSION_TOO_NEW`.)
    ANDROID_API_LEVEL = "android-api-level"
    #: Android: the file does not say its API level (no ident note), so no level below the
    #: wheel's tag can be promised.
    ANDROID_API_UNKNOWN = "android-api-unknown"
    #: Android: finding libraries of the wheel (its own or grafted ones) takes DT_RUNPATH, which
    #: Bionic reads from API 24 on.
    ANDROID_RUNPATH = "android-runpath"

    @property
    def repairable(self) -> bool:
        return self in _REPAIRABLE


_REPAIRABLE = frozenset({ReasonKind.NOT_WHITELISTED, ReasonKind.LIBPYTHON})


@value_class
class Reason:
    """One reason against one policy, with its culprit. Fields that do not apply are ``None``
    or empty: ``file`` is ``None`` only for wheel-level reasons (libc, architecture, musl)."""

    kind: ReasonKind
    message: str
    file: str | None = None
    library: str | None = None
    version: str | None = None
    symbols: tuple[str, ...] = ()
    #: True when ``file`` is a library outside the wheel that a repair would graft.
    grafted: bool = False

    @property
    def repairable(self) -> bool:
        return self.kind.repairable

    @property
    def symbol(self) -> str | None:
        """The first culprit symbol, if any."""
        return self.symbols[0] if self.symbols else None

    def sort_key(self) -> tuple[str, str, str, str, tuple[str, ...]]:
        return (
            self.kind.value,
            self.file or "",
            self.library or "",
            self.version or "",
            self.symbols,
        )
