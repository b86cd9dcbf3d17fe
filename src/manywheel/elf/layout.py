"""Precompiled ``struct`` layouts for the four ELF flavours (32/64-bit, little/big endian), and
the bounded byte source every parser reads through."""

from __future__ import annotations

import struct
from typing import Protocol

from manywheel.errors import InvalidElfError
from manywheel.values import value_class

__all__ = ["BufferImage", "Image", "Layout", "layout_for"]

#: e_ident: magic, class, data, version, OSABI, ABI version.
IDENT = struct.Struct("4sBBBBB7x")
ELF_MAGIC = b"\x7fELF"


@value_class
class Layout:
    """Every record ELF needs for one (class, data) flavour, compiled once."""

    is64: bool
    endian: str
    #: e_type, e_machine, e_version, e_entry, e_phoff, e_shoff, e_flags, e_ehsize,
    #: e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx
    ehdr: struct.Struct
    #: normalised by :meth:`phdr_fields` to (type, flags, offset, vaddr, filesz, memsz, align)
    phdr: struct.Struct
    #: name, type, flags, addr, offset, size, link, info, addralign, entsize
    shdr: struct.Struct
    dyn: struct.Struct
    #: normalised to (name, value, size, info, other, shndx)
    sym: struct.Struct
    half: struct.Struct
    word: struct.Struct
    xword: struct.Struct
    #: vn_version, vn_cnt, vn_file, vn_aux, vn_next
    verneed: struct.Struct
    #: vna_hash, vna_flags, vna_other, vna_name, vna_next
    vernaux: struct.Struct
    #: vd_version, vd_flags, vd_ndx, vd_cnt, vd_hash, vd_aux, vd_next
    verdef: struct.Struct
    #: vda_name, vda_next
    verdaux: struct.Struct
    #: namesz, descsz, type
    nhdr: struct.Struct

    @property
    def word_size(self) -> int:
        return 8 if self.is64 else 4


def _make(is64: bool, endian: str) -> Layout:
    e = endian
    if is64:
        ehdr, phdr = f"{e}HHIQQQIHHHHHH", f"{e}IIQQQQQQ"
        shdr, dyn, sym = f"{e}IIQQQQIIQQ", f"{e}qQ", f"{e}IBBHQQ"
        xword = f"{e}Q"
    else:
        ehdr, phdr = f"{e}HHIIIIIHHHHHH", f"{e}IIIIIIII"
        shdr, dyn, sym = f"{e}IIIIIIIIII", f"{e}iI", f"{e}IIIBBH"
        xword = f"{e}I"
    return Layout(
        is64=is64,
        endian=e,
        ehdr=struct.Struct(ehdr),
        phdr=struct.Struct(phdr),
        shdr=struct.Struct(shdr),
        dyn=struct.Struct(dyn),
        sym=struct.Struct(sym),
        half=struct.Struct(f"{e}H"),
        word=struct.Struct(f"{e}I"),
        xword=struct.Struct(xword),
        verneed=struct.Struct(f"{e}HHIII"),
        vernaux=struct.Struct(f"{e}IHHII"),
        verdef=struct.Struct(f"{e}HHHHIII"),
        verdaux=struct.Struct(f"{e}II"),
        nhdr=struct.Struct(f"{e}III"),
    )


_LAYOUTS = {
    (1, 1): _make(False, "<"),
    (1, 2): _make(False, ">"),
    (2, 1): _make(True, "<"),
    (2, 2): _make(True, ">"),
}


def layout_for(elf_class: int, data: int) -> Layout | None:
    """The layout for raw ``EI_CLASS``/``EI_DATA`` values, or ``None`` if they are invalid."""
    return _LAYOUTS.get((elf_class, data))


def phdr_fields(layout: Layout, raw: tuple[int, ...]) -> tuple[int, int, int, int, int, int, int]:
    """(type, flags, offset, vaddr, filesz, memsz, align) from one unpacked program header."""
    if layout.is64:
        p_type, p_flags, p_offset, p_vaddr, _paddr, p_filesz, p_memsz, p_align = raw
    else:
        p_type, p_offset, p_vaddr, _paddr, p_filesz, p_memsz, p_flags, p_align = raw
    return p_type, p_flags, p_offset, p_vaddr, p_filesz, p_memsz, p_align


class Image(Protocol):
    """Bytes of one ELF file, read by offset; every read is bounds-checked."""

    @property
    def name(self) -> str: ...

    @property
    def size(self) -> int: ...

    def read(self, offset: int, size: int, what: str) -> bytes:
        """``size`` bytes at ``offset``; :class:`InvalidElfError` naming ``what`` if they are
        not all there."""
        ...

    def has(self, offset: int, size: int) -> bool:
        """Whether ``read(offset, size, ...)`` would succeed."""
        ...


class BufferImage:
    """An :class:`Image` over a whole file in memory (``bytes``, ``bytearray``, ``mmap``)."""

    __slots__ = ("_buf", "_name", "_size")

    def __init__(self, buf: bytes | bytearray | memoryview, name: str) -> None:
        self._buf = buf
        self._name = name
        self._size = len(buf) if not isinstance(buf, memoryview) else buf.nbytes

    @property
    def name(self) -> str:
        return self._name

    @property
    def size(self) -> int:
        return self._size

    def has(self, offset: int, size: int) -> bool:
        return offset >= 0 and size >= 0 and offset + size <= self._size

    def read(self, offset: int, size: int, what: str) -> bytes:
        if not self.has(offset, size):
            raise InvalidElfError(
                f"{what} (0x{size:x} bytes at 0x{offset:x}) runs past the end of the file "
                f"(0x{self._size:x} bytes)",
                path=self._name,
                offset=offset if offset >= 0 else None,
            )
        return bytes(self._buf[offset : offset + size])
