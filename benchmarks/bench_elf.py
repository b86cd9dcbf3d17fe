"""Time manywheel.elf against pyelftools on the largest ELF files at hand.

Run from the repository root: ``python -m benchmarks.bench_elf [--count N]``. It extracts the
biggest ELF members of the torch CPU wheel (``/opt/wheels``) to a temporary directory (or, without
it, takes the largest system libraries) and, per file, times:

* manywheel ``read_elf`` (header, segments, sections, dynamic entries, version needs and
  definitions, one walk of the dynamic symbols with every aggregate), best of 3;
* manywheel ``read_elf`` plus materialising every ``Symbol`` value (names, versions);
* pyelftools reading the same facts: the dynamic tags and every dynamic symbol with its version
  (one run; it is slow).

It prints per-file times and the speed-up; and the time to stream the largest member straight
out of the wheel with ``read_elf_stream``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from benchmarks.measure import Measurement, best_of, measure_call, ratio_line
from manywheel.elf import read_elf, read_elf_stream

TORCH_WHEEL = Path("/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")
SYSTEM_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib", "/usr/bin")


def _is_elf(data: bytes) -> bool:
    return data[:4] == b"\x7fELF"


def _torch_members(count: int, into: Path) -> list[Path]:
    paths = []
    with zipfile.ZipFile(TORCH_WHEEL) as zf:
        infos = sorted(zf.infolist(), key=lambda i: -i.file_size)
        for info in infos:
            with zf.open(info) as f:
                if not _is_elf(f.read(4)):
                    continue
            target = into / Path(info.filename).name
            with zf.open(info) as src, target.open("wb") as dst:
                while chunk := src.read(2**20):
                    dst.write(chunk)
            paths.append(target)
            if len(paths) == count:
                break
    return paths


def _system_libraries(count: int) -> list[Path]:
    found: dict[Path, int] = {}
    for top in SYSTEM_DIRS:
        for root, _, files in os.walk(top):
            for name in files:
                path = Path(root, name)
                if path.is_symlink() or not path.is_file():
                    continue
                with path.open("rb") as f:
                    if _is_elf(f.read(4)):
                        found[path.resolve()] = path.stat().st_size
    return sorted(found, key=lambda p: -found[p])[:count]


def _pyelftools_facts(path: Path) -> int:
    from elftools.elf.elffile import ELFFile
    from elftools.elf.gnuversions import GNUVerSymSection

    seen = 0
    with path.open("rb") as f:
        elf: Any = ELFFile(f)
        dynamic = elf.get_section_by_name(".dynamic")
        tags = [t.entry.d_tag for t in dynamic.iter_tags()] if dynamic else []
        versym = next((s for s in elf.iter_sections() if isinstance(s, GNUVerSymSection)), None)
        dynsym = elf.get_section_by_name(".dynsym")
        for i, sym in enumerate(dynsym.iter_symbols() if dynsym else ()):
            _ = (sym.name, sym["st_info"]["bind"], sym["st_shndx"])
            if versym is not None:
                _ = versym.get_symbol(i)["ndx"]
            seen += 1
    return seen + len(tags)


def _all_symbols(path: Path) -> int:
    return len(list(read_elf(path).symbols))


def _measure(path: Path) -> tuple[Measurement, Measurement, Measurement]:
    def ours() -> Measurement:
        return measure_call(lambda: read_elf(path))

    def full() -> Measurement:
        return measure_call(lambda: _all_symbols(path))

    return best_of(3, ours), best_of(3, full), measure_call(lambda: _pyelftools_facts(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=4, help="how many files (default 4)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-elf-") as tmp:
        if TORCH_WHEEL.exists():
            paths = _torch_members(args.count, Path(tmp))
            print(f"largest ELF members of {TORCH_WHEEL.name}")
        else:
            paths = _system_libraries(args.count)
            print("largest system ELF files (torch wheel not found)")
        for path in paths:
            elf = read_elf(path)
            label = f"{path.name} ({path.stat().st_size / 2**20:.0f} MiB, {len(elf.symbols)} syms)"
            ours, full, theirs = _measure(path)
            print(ratio_line(label, ours, theirs, "pyelftools"))
            print(ratio_line("  + every Symbol value", full, theirs, "pyelftools"))
        if TORCH_WHEEL.exists():
            print(_stream_line())
    return 0


def _stream_line() -> str:
    with zipfile.ZipFile(TORCH_WHEEL) as zf:
        info = zf.getinfo("torch/lib/libtorch_cpu.so")

        def stream() -> None:
            with zf.open(info) as f:
                read_elf_stream(f, size=info.file_size, name=info.filename)

        took: Measurement = best_of(2, lambda: measure_call(stream))
    return (
        f"read_elf_stream of libtorch_cpu.so out of the wheel (inflating it): {took.seconds:.2f}s"
    )


if __name__ == "__main__":
    sys.exit(main())
