"""Reading only the parts of a big ELF member that the ELF reader uses (placeholder: whole)."""

from __future__ import annotations

from dataclasses import dataclass

from manywheel.elf import ByteStream, ElfFile, read_elf_stream
from manywheel.survey.ranged import RangedFile
from manywheel.wheel import Member, WheelArchive

__all__ = ["SparseOptions", "read_elf_sparse"]


@dataclass(frozen=True, slots=True)
class SparseOptions:
    #: Members at most this big (compressed) are read whole.
    min_compressed: int = 1 << 20


def read_elf_sparse(
    archive: WheelArchive, member: Member, remote: RangedFile, options: SparseOptions
) -> ElfFile:
    remote.will_need([(member.data_offset, member.compressed_size)])

    def reopen() -> ByteStream:
        return archive.open_member(member)

    with archive.open_member(member) as stream:
        return read_elf_stream(stream, size=member.file_size, name=member.name, reopen=reopen)
