"""``manywheel show`` read at a glance, on real wheels: a reason that keeps out several tags is
stated once, the reasons that bind first and the rest counted (``-v`` lists them), counts that
count what they say, a lying filename said in words in the first lines (and in
``--json-details``), C++ symbols demangled in text and kept mangled in JSON with the demangled
form beside them, and the search a library not found went through."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from manywheel.cli import main
from tests.audit.builders import EXT, Builder
from tests.audit.real_wheels import RealWheel, fetch
from tests.harness.availability import skip_or_fail

CRYPTOGRAPHY = RealWheel("cryptography==50.0.2", "manylinux_2_34_x86_64")
PLAYWRIGHT = RealWheel("playwright==1.63.0", "manylinux1_x86_64")
TORCH = RealWheel("torch==2.13.0+cpu", "manylinux_2_28_x86_64")


def _show(argv: list[str], environ: dict[str, str] | None = None) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["show", *argv], stdout=out, stderr=io.StringIO(), environ=environ or {})
    return code, out.getvalue()


def test_a_version_is_stated_once_however_many_tags_it_keeps_out() -> None:
    """cryptography 50 needs GLIBC_2.34 for 18 symbols: one line, for the 8 better tags it
    keeps out (the text said it under each of 7 groups of tags, 57 lines in all)."""
    code, text = _show([str(fetch(CRYPTOGRAPHY))])
    assert code == 0
    assert text.count("GLIBC_2.34 from libc.so.6") == 1
    assert "every better tag: manylinux_2_5_x86_64 … manylinux_2_31_x86_64 (8 tags):" in text
    # the versions that keep out only older tags are counted, and listed with -v
    assert "(8 more reasons keep out only older tags: GLIBC_2.30, GLIBC_2.28" in text
    assert len(text.splitlines()) < 20
    _, verbose = _show(["-v", str(fetch(CRYPTOGRAPHY))])
    assert verbose.count("GLIBC_2.34 from libc.so.6") == 1
    assert "  manylinux_2_28_x86_64 and older (7 tags):" in verbose.splitlines()
    assert "GLIBC_2.7 from libc.so.6" in verbose and "GLIBC_2.7 from" not in text


def test_torch_reads_at_a_glance() -> None:
    """torch 2.13 (136 ELF members; the local index's copy has a test program whose
    libraries cannot be found): the lie in the filename first, the binding reason with where
    the libraries were looked for and what changes that, one line for the build machine's
    RPATH shared by 69 files, and counts of members, not of DT_NEEDED entries."""
    code, text = _show([str(fetch(TORCH))])
    lines = text.splitlines()
    assert code == 0 and len(lines) < 40  # it was 541
    assert (
        lines[1] == "  x86_64, glibc; 136 ELF members (1 extension, 124 executables, 11 libraries)"
    )
    assert lines[2].startswith(
        "  the filename claims manylinux_2_28_x86_64, but torch/bin/test_shim needs libc10.so"
    )
    assert (
        "      torch/bin/test_shim needs libc10.so, libtorch.so, libtorch_cpu.so: not found"
        in lines
    )
    assert any(
        line.startswith("      torch/bin/test_shim looked in its DT_RUNPATH $ORIGIN")
        for line in lines
    )
    hint = next(line for line in lines if "to look elsewhere" in line)
    assert "AUDITWHEEL_LD_LIBRARY_PATH" in hint and "--ldpaths" in hint
    assert "--exclude libc10.so" in hint and "--from-wheel" in hint
    assert text.count("/lib/intel64_win") == 2  # in test_shim's search, and the RPATH line
    assert "  69 files (torch/bin/FileStoreTest, torch/bin/HashStoreTest (+67 more)) with" in text
    assert "(135 more members with nothing to report" in text


def test_a_lying_filename_in_words_and_in_json() -> None:
    """playwright's wheel says manylinux1; its node binary needs glibc 2.28."""
    wheel = fetch(PLAYWRIGHT)
    _, text = _show([str(wheel)])
    claim = (
        "the filename claims manylinux1_x86_64, but playwright/driver/node needs GLIBC_2.28 "
        "from libc.so.6 (for fcntl64): too new"
    )
    assert text.splitlines()[2].startswith(f"  {claim}")
    _, out = _show(["--json-details", str(wheel)])
    [entry] = json.loads(out)["wheels"]
    [false] = entry["false_claims"]
    assert false["tag"] == "manylinux1_x86_64" and false["message"].startswith(claim)
    assert (false["reason"]["version"], false["reasons"]) == ("GLIBC_2.28", 28)


def test_an_honest_filename_claims_nothing_false() -> None:
    _, out = _show(["--json-details", str(fetch(CRYPTOGRAPHY))])
    assert json.loads(out)["wheels"][0]["false_claims"] == []


@pytest.fixture(scope="module")
def cxx_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A C++ extension that needs CXXABI_1.3.9 (sized operator delete): glibc's libstdc++ at
    manylinux_2_5 has none."""
    if shutil.which("g++") is None or shutil.which("c++filt") is None:
        skip_or_fail("needs g++ and c++filt (scripts/bootstrap installs g++ and binutils)")
    work = tmp_path_factory.mktemp("cxx")
    build = Builder(work, work / "lib")
    build.libdir.mkdir()
    source = work / "cxx.cpp"
    source.write_text(
        'extern "C" void *PyInit_cxx(void) { int *p = new int(1); ::operator delete(p, '
        "sizeof(int)); return nullptr; }\n"
    )
    so = work / f"cxx{EXT}"
    build.gcc(["-shared", "-fPIC", "-fsized-deallocation", "-o", str(so), str(source)],
              compiler="g++")  # fmt: skip
    return build.wheel("cxx", {f"cxx{EXT}": so.read_bytes()})


def test_cxx_symbols_are_demangled_in_text_and_kept_in_json(cxx_wheel: Path) -> None:
    _, text = _show(["-v", str(cxx_wheel)])
    assert "operator delete(void*, unsigned long)" in text and "_ZdlPvm" not in text
    _, out = _show(["--json-details", str(cxx_wheel)])
    entry: Any = json.loads(out)["wheels"][0]
    reasons = [r for p in entry["policies"] for r in p["reasons"] if "_ZdlPvm" in r["symbols"]]
    assert reasons
    for reason in reasons:
        index = reason["symbols"].index("_ZdlPvm")
        assert reason["symbols_demangled"][index] == "operator delete(void*, unsigned long)"
    [member] = entry["members"]
    assert member["demangled"]["_ZdlPvm"] == "operator delete(void*, unsigned long)"


def test_without_cxxfilt_names_stay_mangled(cxx_wheel: Path, tmp_path: Path) -> None:
    """No c++filt on PATH: the report is the same but for the names, and nothing fails."""
    code, text = _show(["-v", str(cxx_wheel)], {"PATH": str(tmp_path)})
    assert code == 0 and "_ZdlPvm" in text and "operator delete" not in text
    _, out = _show(["--json-details", str(cxx_wheel)], {"PATH": str(tmp_path)})
    [member] = json.loads(out)["wheels"][0]["members"]
    assert member["demangled"] == {}
