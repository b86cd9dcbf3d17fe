"""Hypothesis: random sequences of edits, each applied to the previous result, on fixtures of
several architectures and layouts. Every result is read by our reader (with the facts the edits
asked for) and by GNU readelf without complaint; an edit is either done or refused with
ElfEditError (for a reason the editor names), never anything else. And hostile inputs (fields
set to boundary values) are edited or refused as input errors."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from manywheel.elf import ElfChanges, SearchPathTag, edit_elf, parse_elf
from manywheel.errors import ElfEditError, InputError
from tests.elf.conftest import CROSS
from tests.elf.editing import check_segments, readelf_clean
from tests.elf.mutate import INTERESTING, field_offsets

FILES = [
    CROSS / "aarch64" / "libuser.so",
    CROSS / "s390x" / "librunpath.so",
    CROSS / "i686" / "prog",
    CROSS / "ppc64" / "libuser-noshdr.so",
    CROSS / "riscv64" / "libbase.so",
    CROSS / "armv7l" / "libuser-stripped.so",
]
_PATH_PART = st.sampled_from(
    ["$ORIGIN", "$ORIGIN/..", "$ORIGIN/../lib", "/opt/fixture", "/usr/lib", "$LIB", "x" * 300]
)
_NAMES = st.sampled_from(
    ["libbase.so.1", "libx.so", "libbase-0123abcd.so.1", "libpystub.so", "a" * 200]
)


@st.composite
def _changes(draw: st.DrawFn) -> ElfChanges:
    kind = draw(st.sampled_from(["rpath", "remove", "soname", "replace", "remove-needed", "mix"]))
    if kind == "remove":
        return ElfChanges(remove_rpath=True)
    rpath = None
    if kind in ("rpath", "mix"):
        parts = draw(st.lists(_PATH_PART, min_size=0, max_size=draw(st.integers(1, 40))))
        rpath = ":".join(parts)
    tag = draw(st.sampled_from(list(SearchPathTag)))
    soname = draw(_NAMES) if kind in ("soname", "mix") else None
    replace: tuple[tuple[str, str], ...] = ()
    if kind in ("replace", "mix"):
        replace = ((draw(_NAMES), draw(_NAMES)),)
    remove_needed = (draw(_NAMES),) if kind == "remove-needed" else ()
    return ElfChanges(
        soname=soname,
        replace_needed=replace,
        remove_needed=remove_needed,
        rpath=rpath,
        rpath_tag=tag,
    )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    source=st.sampled_from(FILES),
    edits=st.lists(_changes(), min_size=1, max_size=4),
)
def test_random_edit_sequences_stay_readable(
    source: Path, edits: list[ElfChanges], tmp_path: Path
) -> None:
    data = source.read_bytes()
    for number, changes in enumerate(edits):
        try:
            result = edit_elf(data, changes, name=source.name)
        except ElfEditError as e:
            assert "soname" in str(e).lower() or "cannot" in str(e), e
            continue
        data = result.data
        elf = parse_elf(data)
        if changes.rpath is not None:
            assert changes.rpath.split(":") in (list(elf.rpath), list(elf.runpath))
        if changes.soname is not None:
            assert elf.soname == changes.soname
        out = tmp_path / f"step{number}-{source.name}"
        out.write_bytes(data)
        readelf_clean(out, source.read_bytes())
        check_segments(data)


@pytest.mark.parametrize("source", FILES, ids=[f"{p.parent.name}-{p.name}" for p in FILES])
def test_fuzz_files_are_edited_at_all(source: Path) -> None:
    """The files the fuzz test starts from can each take a growing edit (else it proves little)."""
    result = edit_elf(source.read_bytes(), ElfChanges(rpath="$ORIGIN/" + "y" * 500))
    assert result.changed


_REQUESTS = [
    ElfChanges(rpath="$ORIGIN"),
    ElfChanges(rpath="/x" * 3000),
    ElfChanges(soname="libz.so"),
    ElfChanges(replace_needed=(("libbase.so.1", "libbase-0123abcd.so.1"),)),
    ElfChanges(remove_rpath=True),
]


@settings(max_examples=300, deadline=None)
@given(
    source=st.sampled_from(FILES),
    request=st.sampled_from(_REQUESTS),
    mutations=st.lists(
        st.tuples(st.integers(0, 10_000), st.sampled_from(INTERESTING), st.booleans()),
        min_size=1,
        max_size=3,
    ),
)
@example(  # a segment ending at 4 GiB: the new one would lie past a 32-bit file's addresses
    source=CROSS / "i686" / "prog",
    request=ElfChanges(rpath="$ORIGIN"),
    mutations=[(128, 0, True), (814, 4_294_967_295, False)],
)
def test_mutated_files_are_edited_or_refused(
    source: Path, request: ElfChanges, mutations: list[tuple[int, int, bool]]
) -> None:
    """A hostile file (header, program header, dynamic entry, version and hash fields set to
    boundary values) is edited or refused with an input error, never anything else; and when our
    reader reads the input, it reads the result."""
    data = bytearray(source.read_bytes())
    fields = field_offsets(bytes(data))
    order: Literal["little", "big"] = "little" if data[5] == 1 else "big"
    for pick, boundary, random_value in mutations:
        offset, width = fields[pick % len(fields)]
        value = (pick * 2654435761 if random_value else boundary) % (1 << (8 * width))
        data[offset : offset + width] = value.to_bytes(width, order)
    try:
        result = edit_elf(bytes(data), request, name=source.name)
    except InputError:
        return
    try:
        parse_elf(bytes(data))
    except InputError:
        return  # the reader refuses the input: the edit is not judged by it
    if result.changed:
        parse_elf(result.data)
