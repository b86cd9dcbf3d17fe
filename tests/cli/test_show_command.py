"""``manywheel show`` end to end: auditwheel's exit codes and JSON schema, the text report's
headline, refusals, holdout and findings, several wheels at once."""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path

import jsonschema
import pytest

from manywheel.cli import main
from tests.audit.builders import EXT, Builder
from tests.harness.extensions import write_wheel

SCHEMA = json.loads(
    (Path(__file__).parents[1] / "audit" / "data" / "auditwheel-show-schema.json").read_text()
)
STDIO = "#include <stdio.h>"


@pytest.fixture
def build(tmp_path: Path) -> Builder:
    libdir = tmp_path / "lib"
    libdir.mkdir()
    return Builder(tmp_path, libdir)


def _run(argv: list[str], build: Builder | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    environ = {} if build is None else {"AUDITWHEEL_LD_LIBRARY_PATH": str(build.libdir)}
    code = main(["show", *argv], stdout=out, stderr=err, environ=environ)
    return code, out.getvalue(), err.getvalue()


def _grafting_wheel(build: Builder) -> Path:
    build.library("libfoo.so.1", "int foo(void) { return 1; }")
    ext = build.extension("usesfoo", "foo()", prelude="int foo(void);", links=["-lfoo"])
    return build.wheel("usesfoo", {f"usesfoo{EXT}": ext})


def _pure_wheel(build: Builder) -> Path:
    return write_wheel(build.work, "pure", "1.0", "py2.py3-none-any", {"pure/__init__.py": b""})


def test_json_is_auditwheels_schema(build: Builder) -> None:
    code, out, _ = _run(["--json", str(_grafting_wheel(build))], build)
    assert code == 0
    document = json.loads(out)
    jsonschema.validate(document, SCHEMA)
    assert document["overall_tag"] == "linux_x86_64"
    assert document["external_libs"] == {"libfoo.so.1": str(build.libdir / "libfoo.so.1")}
    upgrades = document["policy_upgrades"]
    assert upgrades["manylinux_2_5_x86_64"] == {"libs_to_eliminate": ["libfoo.so.1"]}


def test_text_headline_refusals_and_grafts(build: Builder) -> None:
    wheel = _grafting_wheel(build)
    code, out, _ = _run([str(wheel)], build)
    assert code == 0
    first = out.splitlines()[0]
    assert first == (
        f"{wheel.name}: as it is: linux_x86_64; after repair: manylinux_2_5_x86_64 "
        "(+ manylinux1_x86_64)"
    )
    assert "not-whitelisted (a repair fixes this):" in out
    assert f"usesfoo{EXT} needs libfoo.so.1" in out
    assert f"libfoo.so.1 ← {build.libdir / 'libfoo.so.1'}" in out
    assert "\x1b[" not in out  # plain when not a terminal


def test_colour_when_asked(build: Builder) -> None:
    out = io.StringIO()
    environ = {"AUDITWHEEL_LD_LIBRARY_PATH": str(build.libdir)}
    argv = ["--color", "always", "show", str(_grafting_wheel(build))]
    code = main(argv, stdout=out, stderr=io.StringIO(), environ=environ)
    assert code == 0 and "\x1b[1;33mlinux_x86_64\x1b[0m" in out.getvalue()


def test_holdout_sentence(build: Builder) -> None:
    build.library("libgone.so.1", "int gone(void) { return 1; }")
    tool = build.executable("tool", "gone()", links=["-lgone"])
    ext = build.extension("good", 'puts("hi")', prelude=STDIO)
    wheel = build.wheel("good", {f"good{EXT}": ext, "good-1.0.data/scripts/tool": tool})
    (build.libdir / "libgone.so.1").unlink()
    code, out, _ = _run([str(wheel)], build)
    assert code == 0
    assert (
        "held back by one file: good-1.0.data/scripts/tool alone keeps the wheel at "
        "linux_x86_64 after repair; without it: manylinux_2_5_x86_64"
    ) in out
    assert "library-not-found:" in out
    assert "└ libgone.so.1 → not-found" in out


@pytest.mark.parametrize(
    ("flags", "code", "expected"),
    [
        ([], 1, {"version": 1, "wheel": "pure-1.0-py2.py3-none-any.whl"}),
        (["--allow-pure-python-wheel"], 0, {"pure": True}),
    ],
    ids=["refused", "allowed"],
)
def test_pure_wheel_exit_codes(
    build: Builder, flags: list[str], code: int, expected: dict[str, object]
) -> None:
    got, out, _ = _run(["--json", *flags, str(_pure_wheel(build))])
    document = json.loads(out)
    jsonschema.validate(document, SCHEMA)
    assert got == code
    assert expected.items() <= document.items()
    assert ("error" in document) == (code == 1)


def test_pure_wheel_text_says_what_it_is(build: Builder) -> None:
    code, out, err = _run([str(_pure_wheel(build))])
    assert code == 1
    assert "pure Python wheel (universal, Python tags py2.py3)" in out
    assert "does not look like a platform wheel" in err


def test_a_missing_file_is_unusable_input(tmp_path: Path) -> None:
    """The README's code for a missing file (3), as every other command; auditwheel exits 2
    (README: "Exit codes compared with auditwheel's")."""
    missing = tmp_path / "nope-1.0-py3-none-any.whl"
    code, out, err = _run([str(missing)])
    assert (code, out) == (3, "")
    assert err == f"manywheel: error: {missing}: No such file or directory\n"


def test_several_wheels_exit_with_the_worst(build: Builder) -> None:
    """Several wheels: a JSON list of auditwheel's documents, in the order given (the wheels
    are audited in forked processes), and the worst exit code."""
    wheels = [str(_grafting_wheel(build)), str(_pure_wheel(build)), str(_grafting_wheel(build))]
    code, out, _ = _run(["--json", *wheels], build)
    assert code == 1
    documents = json.loads(out)
    assert [d["wheel"] for d in documents] == [Path(w).name for w in wheels]
    for document in documents:
        jsonschema.validate(document, SCHEMA)
    assert documents[0] == documents[2]


@pytest.mark.parametrize("case", ["platform", "pure-allowed", "pure-refused"])
def test_one_wheel_json_is_auditwheels_output_byte_for_byte(build: Builder, case: str) -> None:
    """auditwheel 6.8.2 itself, run on the same wheel with the same library directory."""
    from tests.audit.real_wheels import _auditwheel_bin

    wheel = _grafting_wheel(build) if case == "platform" else _pure_wheel(build)
    flags = ["--allow-pure-python-wheel"] if case == "pure-allowed" else []
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root")}
    env["AUDITWHEEL_LD_LIBRARY_PATH"] = str(build.libdir)
    argv = [str(_auditwheel_bin()), "show", "--json", *flags, str(wheel)]
    theirs = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    code, ours, _ = _run(["--json", *flags, str(wheel)], build)
    assert (code, ours) == (theirs.returncode, theirs.stdout)


def test_unreadable_wheel_is_an_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad-1.0-cp311-cp311-linux_x86_64.whl"
    bad.write_bytes(b"not a zip")
    code, _, err = _run([str(bad)])
    assert code == 3 and "manywheel: error:" in err


def test_json_details(build: Builder) -> None:
    code, out, _ = _run(["--json-details", str(_grafting_wheel(build))], build)
    assert code == 0
    document = json.loads(out)
    assert (document["format"], document["schema_version"]) == ("manywheel-show", 1)
    (wheel,) = document["wheels"]
    jsonschema.validate(wheel["auditwheel"], SCHEMA)
    assert wheel["as_is"]["tag"] == "linux_x86_64"
    assert wheel["after_repair"] == {
        "tag": "manylinux_2_5_x86_64",
        "aliases": ["manylinux1_x86_64"],
    }
    (member,) = wheel["members"]
    assert member["needed"][0]["soname"] == "libfoo.so.1"
    assert member["needed"][0]["where"] == "system"


def test_disable_isa_ext_check(build: Builder) -> None:
    ext = build.extension(
        "avx", 'puts("hi")', prelude=STDIO, flags=["-march=x86-64-v3", "-mneeded"]
    )
    wheel = str(build.wheel("avx", {f"avx{EXT}": ext}))
    checked = json.loads(_run(["--json", wheel])[1])
    relaxed = json.loads(_run(["--json", "--disable-isa-ext-check", wheel])[1])
    assert (checked["overall_tag"], checked["unsupported_isa"]) == ("linux_x86_64", True)
    assert (relaxed["overall_tag"], relaxed["unsupported_isa"]) == ("manylinux_2_5_x86_64", False)


def test_ldpaths_replaces_the_system_directories(build: Builder) -> None:
    ext = build.extension("clean", 'puts("hi")', prelude=STDIO)
    wheel = str(build.wheel("clean", {f"clean{EXT}": ext}))
    code, out, _ = _run(["--json", "--ldpaths", str(build.libdir), wheel])
    # libc.so.6 is whitelisted: not finding it is not held against the wheel (as auditwheel)
    assert code == 0 and json.loads(out)["overall_tag"] == "manylinux_2_5_x86_64"


def test_build_machine_rpath_and_verbose_listing(build: Builder) -> None:
    flags = ["-Wl,-rpath,/home/builder/lib:/opt/x", "-Wl,--disable-new-dtags"]
    ext = build.extension("rp", 'puts("hi")', prelude=STDIO, flags=flags)
    wheel = str(build.wheel("rp", {f"rp{EXT}": ext}))
    code, out, _ = _run([wheel])
    assert code == 0
    assert (
        f"  1 file (rp{EXT}) with RPATH/RUNPATH entries outside the wheel: /home/builder/lib, "
        "/opt/x (a repair removes them)"
    ) in out
    assert "libc.so.6" not in out and "(1 member with nothing to report" in out
    _, verbose, _ = _run(["-v", wheel])
    assert "└ libc.so.6 → system" in verbose
    assert "! RPATH/RUNPATH outside the wheel: /home/builder/lib, /opt/x" in verbose


def test_symbol_versions_grouped_newest_first(build: Builder) -> None:
    prelude = "#include <stdlib.h>\n#include <sys/random.h>"
    call = "arc4random(); char b[4]; getrandom(b, 4, 0)"
    ext = build.extension("rand", call, prelude=prelude)
    code, out, _ = _run([str(build.wheel("rand", {f"rand{EXT}": ext}))])
    assert code == 0
    assert ": as it is: manylinux_2_36_x86_64;" in out.splitlines()[0]
    lines = [line.strip() for line in out.splitlines()]
    first = lines.index("every better tag: manylinux_2_5_x86_64 … manylinux_2_35_x86_64 (10 tags):")
    assert lines[first + 2] == f"GLIBC_2.36 from libc.so.6: rand{EXT} for arc4random"
    assert "(1 more reason keeps out only older tags: GLIBC_2.25; -v lists them)" in lines
    _, verbose, _ = _run(["-v", str(build.work / "dist" / "rand-1.0-cp311-cp311-linux_x86_64.whl")])
    lines = [line.strip() for line in verbose.splitlines()]
    older = lines.index("manylinux_2_24_x86_64 and older (4 tags):")
    assert lines[older + 2] == f"GLIBC_2.25 from libc.so.6: rand{EXT} for getrandom"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_for_big_wheels(build: Builder) -> None:
    ext = build.extension("big", 'puts("hi")', prelude=STDIO)
    files = {f"big{EXT}": ext, "big/data.bin": os.urandom(17 * 2**20)}  # does not compress
    wheel = build.wheel("big", files)
    err = _Terminal()
    code = main(["show", str(wheel)], stdout=io.StringIO(), stderr=err, environ={})
    assert code == 0
    assert f"\r{wheel.name}: reading 100%\n" in err.getvalue()
    quiet = io.StringIO()
    main(["show", str(wheel)], stdout=io.StringIO(), stderr=quiet, environ={})
    assert "reading" not in quiet.getvalue()


def test_bad_policy_file_is_reported_once_the_scan_stops(build: Builder, tmp_path: Path) -> None:
    bad = tmp_path / "policy.json"
    bad.write_text("{not json", encoding="utf-8")
    wheel = str(_grafting_wheel(build))
    code, out, err = _run(["--json", "--policy-file", str(bad), wheel, wheel], build)
    assert (code, out) == (3, "")
    assert err.startswith("manywheel: error:") and "policy.json" in err
    assert err.count("\n") == 1  # once, not once per wheel


def test_foreign_architecture_text(build: Builder) -> None:
    ext = build.cross_extension("aarch64-linux-gnu-gcc", "arm")
    wheel = build.wheel("arm", {"arm.cpython-311-aarch64-linux-gnu.so": ext}, "linux_aarch64")
    code, out, _ = _run([str(wheel)])
    assert code == 0
    assert ": as it is: manylinux_2_17_aarch64 (+ manylinux2014_aarch64);" in out
    assert "aarch64, glibc; 1 ELF member (1 extension)\n" in out
    assert "LOAD alignment 0x1000 < 64 KiB pages" in out
    assert "(1 library on the whitelists not found on this system" in out
