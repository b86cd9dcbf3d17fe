"""What the loader of each architecture takes for granted: ``$LIB`` and ``$PLATFORM``, the trusted
default directories, the ld.so.cache flags it accepts, its interpreter, vDSO and musl names.

The values are Debian's (multiarch) glibc and upstream musl; each was checked against the real
loader where one was at hand (x86_64: ``LD_DEBUG=libs`` shows ``$LIB`` as
``lib/x86_64-linux-gnu`` and ``$PLATFORM`` as ``x86_64``). ``$PLATFORM`` is the kernel's
``AT_PLATFORM``, which on some CPUs differs (``v7l`` on 32-bit ARM); callers that know better pass
their own value through :class:`LoaderPlatform`'s fields.
"""

from __future__ import annotations

from dataclasses import replace

from manywheel.values import value_class

__all__ = ["LoaderPlatform", "loader_platform"]

# ld.so.cache entry flags (glibc's ldconfig.h): the low byte is the library type, the next byte
# says which ABI variant a 64-bit (or float-ABI) library is.
FLAG_ELF_LIBC6 = 0x0003


@value_class
class LoaderPlatform:
    """The facts about one architecture's dynamic loader that the search rules depend on."""

    #: ``manywheel.elf.ElfFile.arch`` spelling: ``x86_64``, ``aarch64``, ...
    arch: str
    #: Debian multiarch triplet (``x86_64-linux-gnu``).
    triplet: str
    #: What ``$LIB`` expands to (Debian: ``lib/<triplet>``).
    lib: str
    #: What ``$PLATFORM`` expands to (the kernel's ``AT_PLATFORM``).
    platform: str
    #: The ld.so.cache entry flags this loader accepts besides the generic ``1``.
    cache_flags: int
    #: PT_INTERP of a glibc program for this architecture.
    interpreter: str
    #: The vDSO's name as ``ldd`` shows it (``None``: there is none).
    vdso: str | None
    #: musl's ``LDSO_ARCH``: ``/lib/ld-musl-<arch>.so.1`` and ``/etc/ld-musl-<arch>.path``.
    musl_arch: str

    @property
    def default_dirs(self) -> tuple[str, ...]:
        """glibc's trusted directories, in search order (Debian multiarch first)."""
        return (f"/lib/{self.triplet}", f"/usr/lib/{self.triplet}", "/lib", "/usr/lib")

    @property
    def musl_interpreter(self) -> str:
        return f"/lib/ld-musl-{self.musl_arch}.so.1"

    @property
    def musl_default_dirs(self) -> tuple[str, ...]:
        """musl's built-in search path, used when ``/etc/ld-musl-<arch>.path`` is absent."""
        return ("/lib", "/usr/local/lib", "/usr/lib")

    def with_platform(self, platform: str) -> LoaderPlatform:
        return replace(self, platform=platform)


#: arch, Debian triplet, $PLATFORM, cache flag bits, interpreter, vDSO, musl's LDSO_ARCH.
_ROWS: tuple[tuple[str, str, str, int, str, str | None, str], ...] = (
    ("x86_64", "x86_64-linux-gnu", "x86_64", 0x0300, "/lib64/ld-linux-x86-64.so.2",
     "linux-vdso.so.1", "x86_64"),
    ("i686", "i386-linux-gnu", "i686", 0, "/lib/ld-linux.so.2", "linux-gate.so.1", "i386"),
    ("aarch64", "aarch64-linux-gnu", "aarch64", 0x0A00, "/lib/ld-linux-aarch64.so.1",
     "linux-vdso.so.1", "aarch64"),
    ("armv7l", "arm-linux-gnueabihf", "v7l", 0x0900, "/lib/ld-linux-armhf.so.3",
     "linux-vdso.so.1", "armhf"),
    ("ppc64le", "powerpc64le-linux-gnu", "power8", 0x0500, "/lib64/ld64.so.2",
     "linux-vdso64.so.1", "powerpc64le"),
    ("ppc64", "powerpc64-linux-gnu", "power8", 0x0500, "/lib64/ld64.so.1",
     "linux-vdso64.so.1", "powerpc64"),
    ("s390x", "s390x-linux-gnu", "z900", 0x0400, "/lib/ld64.so.1", "linux-vdso64.so.1",
     "s390x"),
    ("riscv64", "riscv64-linux-gnu", "riscv64", 0x1000, "/lib/ld-linux-riscv64-lp64d.so.1",
     "linux-vdso.so.1", "riscv64"),
    ("loongarch64", "loongarch64-linux-gnu", "loongarch64", 0x1200,
     "/lib64/ld-linux-loongarch-lp64d.so.1", "linux-vdso.so.1", "loongarch64"),
)  # fmt: skip


def loader_platform(arch: str) -> LoaderPlatform:
    """The loader facts for ``arch`` (an ``ElfFile.arch`` value). Raises ``KeyError`` for an
    architecture manywheel does not know."""
    for name, triplet, platform, bits, interpreter, vdso, musl_arch in _ROWS:
        if name == arch:
            return LoaderPlatform(
                arch=name,
                triplet=triplet,
                lib=f"lib/{triplet}",
                platform=platform,
                cache_flags=FLAG_ELF_LIBC6 | bits,
                interpreter=interpreter,
                vdso=vdso,
                musl_arch=musl_arch,
            )
    raise KeyError(arch)
