"""The system's parsed files, shared by the audits of many wheels: each library and the
ld.so.cache parsed once while they are unchanged, parsed again once they change — and the
reports exactly those made without sharing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from manywheel.audit import AuditOptions, audit_wheel
from manywheel.elf import read_elf
from manywheel.errors import InvalidElfError
from manywheel.linker import HostFacts
from manywheel.report import auditwheel_json
from tests.audit.builders import EXT, Builder


@pytest.fixture
def build(tmp_path: Path) -> Builder:
    libdir = tmp_path / "lib"
    libdir.mkdir()
    return Builder(tmp_path, libdir)


def _wheels(build: Builder) -> tuple[Path, Path]:
    build.library("libfoo.so.1", "int foo(void) { return 1; }")
    uses = build.extension("usesfoo", "foo()", prelude="int foo(void);", links=["-lfoo"])
    plain = build.extension("plain", 'puts("x")', prelude="int puts(const char *);")
    return build.wheel("usesfoo", {f"usesfoo{EXT}": uses}), build.wheel(
        "plain", {f"plain{EXT}": plain}
    )


def test_many_audits_parse_the_system_once(build: Builder) -> None:
    first, second = _wheels(build)
    options = AuditOptions(extra_ldpaths=(str(build.libdir),))
    facts = HostFacts()
    shared = [audit_wheel(w, options=options, facts=facts) for w in (first, second, first)]
    after_first = facts.parsed
    assert after_first >= 3  # libfoo, libc, the loader, ld.so.cache...
    again = audit_wheel(first, options=options, facts=facts)
    assert facts.parsed == after_first  # nothing of the system parsed again
    alone = [audit_wheel(w, options=options) for w in (first, second, first)]
    for ours, theirs in zip([*shared, again], [*alone, alone[0]], strict=True):
        assert auditwheel_json(ours, "w.whl") == auditwheel_json(theirs, "w.whl")
        assert ours.external == theirs.external and ours.requirements == theirs.requirements


def test_a_changed_library_is_parsed_again(build: Builder) -> None:
    first, _ = _wheels(build)
    options = AuditOptions(extra_ldpaths=(str(build.libdir),))
    facts = HostFacts()
    before = audit_wheel(first, options=options, facts=facts)
    parsed = facts.parsed
    library = build.libdir / "libfoo.so.1"
    build.library("libfoo.so.1", "int foo(void) { return 2; } int bar(void) { return 3; }")
    stat = library.stat()
    os.utime(library, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    after = audit_wheel(first, options=options, facts=facts)
    assert facts.parsed == parsed + 1  # libfoo alone
    old = next(m for m in before.members).tree
    new = next(m for m in after.members).tree
    assert {o.path for o in old.objects} == {o.path for o in new.objects}
    assert new.get(str(library)) is not old.get(str(library))


def test_a_file_that_is_no_elf_stays_an_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.so"
    text.write_text("not an ELF file\n")
    facts = HostFacts()
    for _ in range(3):
        with pytest.raises(InvalidElfError) as caught:
            facts.elf(str(text), read_elf)
        assert caught.value.__traceback__ is not None
    assert facts.parsed == 1
