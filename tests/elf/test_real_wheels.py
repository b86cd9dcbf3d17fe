"""ELF members of real wheels from the package index (pinned), across architectures: readelf
agrees with read_elf, and streaming the member out of the zip agrees with both."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from manywheel.elf import read_elf, read_elf_stream
from tests.elf.readelf_oracle import assert_matches_readelf, run_readelf
from tests.harness.downloads import download_wheel

#: (requirement, platform, expected arch of the ELF members)
WHEELS = [
    ("PyYAML==6.0.2", "manylinux_2_17_x86_64", "x86_64"),
    ("PyYAML==6.0.2", "musllinux_1_1_x86_64", "x86_64"),
    ("PyYAML==6.0.2", "manylinux_2_17_aarch64", "aarch64"),
    ("PyYAML==6.0.2", "manylinux_2_17_s390x", "s390x"),
    ("numpy==1.26.4", "manylinux_2_17_aarch64", "aarch64"),
]


def _wheel(requirement: str, platform: str) -> Path:
    return download_wheel(requirement, platform)


@pytest.mark.network
@pytest.mark.parametrize(
    ("requirement", "platform", "arch"), WHEELS, ids=[f"{r}-{p}" for r, p, _ in WHEELS]
)
def test_wheel_members(requirement: str, platform: str, arch: str, tmp_path: Path) -> None:
    wheel = _wheel(requirement, platform)
    extracted: dict[Path, zipfile.ZipInfo] = {}
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            with zf.open(info) as f:
                if f.read(4) != b"\x7fELF":
                    continue
            target = tmp_path / info.filename.replace("/", "__")
            target.write_bytes(zf.read(info))
            extracted[target] = info
        assert extracted, f"no ELF members in {wheel.name}"
        facts = run_readelf(list(extracted))
        for path, info in extracted.items():
            elf = read_elf(path)
            assert elf.arch == arch
            assert_matches_readelf(elf, facts[path])
            with zf.open(info) as stream:
                streamed = read_elf_stream(stream, size=info.file_size, name=str(path))
            assert replace(streamed, sections=()) == replace(elf, sections=())
    extensions = [read_elf(p).python_extension(i.filename) for p, i in extracted.items()]
    assert any(e is not None and e.python_major == 3 for e in extensions)


@pytest.mark.network
def test_patchelf_moved_tables_before_dynamic_need_one_pass() -> None:
    """scipy bundles an OpenBLAS that auditwheel already repaired: patchelf moved .gnu.hash into
    a segment it appended just before the new .dynamic, 33 MB into the file. The stream reader
    keeps a window before PT_DYNAMIC, so it needs no second inflate."""
    import io

    from manywheel.elf import parse_elf, read_elf_stream
    from manywheel.wheel import WheelArchive

    wheel = download_wheel("scipy==1.14.1", "manylinux_2_17_x86_64")
    with WheelArchive.open(wheel) as archive:
        (member,) = [m for m in archive.members if "libscipy_openblas" in m.name]
        data = archive.read_member(member)

    def no_reopen() -> io.BytesIO:
        raise AssertionError("a second pass was needed")

    elf = read_elf_stream(io.BytesIO(data), size=len(data), name=member.name, reopen=no_reopen)
    whole = parse_elf(data, name=member.name)
    assert elf.soname is not None and elf.soname.startswith("libscipy_openblas")
    assert len(elf.symbols) == len(whole.symbols) > 10_000
    assert (elf.needed, elf.version_needs) == (whole.needed, whole.version_needs)
