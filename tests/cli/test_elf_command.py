"""``manywheel elf``: text and JSON for files, whole wheels and single wheel members."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from manywheel.cli import main
from manywheel.elf import read_elf
from tests.fixtures.elf import build

CROSS = Path(build.__file__).resolve().parent / "cross"

_STR_OR_NULL = {"type": ["string", "null"]}
_STRS = {"type": "array", "items": {"type": "string"}}
_INT = {"type": "integer"}
#: docs/elf-json.md, as a JSON Schema.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["schema_version", "files"],
    "additionalProperties": False,
    "properties": {
        "schema_version": {"const": 1},
        "files": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": [
                    "path",
                    "wheel",
                    "member",
                    "class",
                    "data",
                    "osabi",
                    "osabi_name",
                    "abi_version",
                    "type",
                    "e_type",
                    "machine",
                    "e_machine",
                    "flags",
                    "entry",
                    "arch",
                    "arm",
                    "interpreter",
                    "needed",
                    "soname",
                    "rpath",
                    "runpath",
                    "dt_flags",
                    "dt_flags_1",
                    "version_needs",
                    "version_definitions",
                    "imports",
                    "dynamic_symbol_count",
                    "x86_isa_level",
                    "x86_isa_needed",
                    "x86_isa_used",
                    "build_id",
                    "android",
                    "executable_stack",
                    "has_gnu_stack",
                    "load_alignment",
                    "segments",
                    "python_extension",
                    "pyfpe_symbols",
                    "ucs2_symbols",
                ],
                "properties": {
                    "path": {"type": "string"},
                    "wheel": _STR_OR_NULL,
                    "member": _STR_OR_NULL,
                    "class": {"enum": ["ELF32", "ELF64"]},
                    "data": {"enum": ["LSB", "MSB"]},
                    "osabi": _INT,
                    "osabi_name": {"type": "string"},
                    "abi_version": _INT,
                    "type": _STR_OR_NULL,
                    "e_type": _INT,
                    "machine": _STR_OR_NULL,
                    "e_machine": _INT,
                    "flags": _INT,
                    "entry": _INT,
                    "arch": _STR_OR_NULL,
                    "arm": {
                        "type": ["object", "null"],
                        "properties": {
                            "eabi_version": _INT,
                            "hard_float": {"type": "boolean"},
                        },
                        "additionalProperties": False,
                    },
                    "interpreter": _STR_OR_NULL,
                    "needed": _STRS,
                    "soname": _STR_OR_NULL,
                    "rpath": _STRS,
                    "runpath": _STRS,
                    "dt_flags": _INT,
                    "dt_flags_1": _INT,
                    "version_needs": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "file": {"type": "string"},
                                "versions": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "additionalProperties": False,
                                        "properties": {
                                            "name": {"type": "string"},
                                            "index": _INT,
                                            "flags": _INT,
                                            "weak": {"type": "boolean"},
                                        },
                                    },
                                },
                            },
                        },
                    },
                    "version_definitions": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "name": {"type": "string"},
                                "index": _INT,
                                "flags": _INT,
                                "base": {"type": "boolean"},
                                "parents": _STRS,
                            },
                        },
                    },
                    "imports": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "library": _STR_OR_NULL,
                                "version": _STR_OR_NULL,
                                "symbols": _STRS,
                                "weak": _STRS,
                            },
                        },
                    },
                    "dynamic_symbol_count": _INT,
                    "x86_isa_level": {
                        "enum": [None, "baseline", "x86-64-v2", "x86-64-v3", "x86-64-v4"]
                    },
                    "x86_isa_needed": _INT,
                    "x86_isa_used": _INT,
                    "build_id": _STR_OR_NULL,
                    "android": {
                        "oneOf": [
                            {"type": "null"},
                            {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["api_level", "ndk_version", "ndk_build"],
                                "properties": {
                                    "api_level": _INT,
                                    "ndk_version": _STR_OR_NULL,
                                    "ndk_build": _STR_OR_NULL,
                                },
                            },
                        ]
                    },
                    "executable_stack": {"type": "boolean"},
                    "has_gnu_stack": {"type": "boolean"},
                    "load_alignment": {"type": ["integer", "null"]},
                    "segments": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "type": _STR_OR_NULL,
                                "p_type": _INT,
                                "flags": {"type": "string", "pattern": "^R?W?X?$"},
                                "offset": _INT,
                                "vaddr": _INT,
                                "filesz": _INT,
                                "memsz": _INT,
                                "align": _INT,
                            },
                        },
                    },
                    "python_extension": {
                        "type": ["object", "null"],
                        "additionalProperties": False,
                        "properties": {
                            "module": {"type": "string"},
                            "init_symbol": {"type": "string"},
                            "python_major": {"enum": [2, 3]},
                        },
                    },
                    "pyfpe_symbols": _STRS,
                    "ucs2_symbols": _STRS,
                },
            },
        },
    },
}


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["elf", *argv], stdout=out, stderr=err, environ={})
    return code, out.getvalue(), err.getvalue()


def _json(*argv: str) -> dict[str, Any]:
    code, out, err = _run("--json", *argv)
    assert code == 0, err
    doc: dict[str, Any] = json.loads(out)
    jsonschema.validate(doc, SCHEMA)
    return doc


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build.build_host(tmp_path_factory.mktemp("cli-elf"))


@pytest.fixture(scope="module")
def wheel(fixtures: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel with ELF members (one with a misleading name) and non-ELF ones named .so."""
    path = tmp_path_factory.mktemp("wheels") / "demo-1.0-cp311-cp311-linux_x86_64.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(fixtures["spam.so"], "demo/spam.cpython-311-x86_64-linux-gnu.so")
        zf.write(fixtures["libuser.so"], "demo.libs/libuser.so")
        zf.write(fixtures["libbase.so"], "demo/data.bin")
        zf.writestr("demo/fake.so", "not an ELF file\n")
        zf.writestr("demo/__init__.py", "")
        zf.writestr("demo-1.0.dist-info/RECORD", "")
    return path


def test_text_for_a_library(fixtures: dict[str, Path]) -> None:
    code, out, err = _run(str(fixtures["libuser.so"]))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"== {fixtures['libuser.so']}"
    assert "  soname       libuser.so" in lines
    assert "  rpath        $ORIGIN/../lib:/opt/fixture" in lines
    assert "  needed       libbase.so.1" in lines
    assert "  exec stack   no" in lines
    assert "  LOAD align   0x1000" in lines
    assert "    libbase.so.1  BASE_1.0 BASE_2.0 BASE_3.0" in lines
    assert "    libbase.so.1  BASE_2.0  base_new base_old" in lines
    assert "    libbase.so.1  BASE_3.0  base_extra?" in lines
    assert "    (any)         -         unversioned_fn weak_fn?" in lines
    assert "\x1b[" not in out


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("libisa-v3.so", "  x86 ISA      x86-64-v3"),
        ("libexecstack.so", "  exec stack   yes"),
        ("prog", "  interpreter  /lib/ld-fixture.so.1"),
        ("spam.so", "  python ext   spam (PyInit_spam)"),
        ("legacy.so", "  PyFPE refs   PyFPE_jbuf"),
        ("libpage64k.so", "  LOAD align   0x10000"),
    ],
)
def test_text_shows_each_fact(fixtures: dict[str, Path], name: str, needle: str) -> None:
    code, out, _ = _run(str(fixtures[name]))
    assert code == 0
    assert needle in out.splitlines()


def test_long_groups_are_cut_unless_all(fixtures: dict[str, Path]) -> None:
    libc = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"
    if not Path(libc).exists():
        pytest.skip("no libstdc++ on this machine")
    _, short, _ = _run(libc)
    _, full, _ = _run("-a", libc)
    assert "more, -a)" in short
    assert "more, -a)" not in full
    assert len(full) > len(short)


def test_colour_only_when_asked(fixtures: dict[str, Path]) -> None:
    out = io.StringIO()
    main(
        ["--color", "always", "elf", str(fixtures["libexecstack.so"])],
        stdout=out,
        stderr=io.StringIO(),
        environ={},
    )
    assert "\x1b[1;31myes\x1b[0m" in out.getvalue()


def test_json_for_files(fixtures: dict[str, Path]) -> None:
    doc = _json(
        str(fixtures["libuser.so"]), str(fixtures["spam.so"]), str(CROSS / "armv7l" / "prog")
    )
    user, spam, arm = doc["files"]
    elf = read_elf(fixtures["libuser.so"])
    assert user["needed"] == ["libbase.so.1"]
    assert user["rpath"] == ["$ORIGIN/../lib", "/opt/fixture"]
    assert user["soname"] == "libuser.so"
    assert user["wheel"] is None and user["member"] is None
    assert user["dynamic_symbol_count"] == len(elf.symbols)
    assert user["build_id"] == elf.build_id.hex() if elf.build_id else None
    assert {
        "library": "libbase.so.1",
        "version": "BASE_3.0",
        "symbols": ["base_extra"],
        "weak": ["base_extra"],
    } in user["imports"]
    assert [v["name"] for v in user["version_needs"][0]["versions"]] == [
        e.name for e in elf.version_needs[0].entries
    ]
    assert spam["python_extension"] == {
        "module": "spam",
        "init_symbol": "PyInit_spam",
        "python_major": 3,
    }
    assert arm["arch"] == "armv7l" and arm["class"] == "ELF32"
    assert arm["arm"] == {"eabi_version": 5, "hard_float": True}
    assert arm["interpreter"] == "/lib/ld-fixture.so.1"
    assert any(s["type"] == "LOAD" and "X" in s["flags"] for s in arm["segments"])


def test_wheel_covers_every_elf_member_by_magic(wheel: Path) -> None:
    doc = _json(str(wheel))
    members = sorted(f["member"] for f in doc["files"])
    assert members == [
        "demo.libs/libuser.so",
        "demo/data.bin",
        "demo/spam.cpython-311-x86_64-linux-gnu.so",
    ]
    spam = next(f for f in doc["files"] if f["member"].startswith("demo/spam"))
    assert spam["wheel"] == str(wheel)
    assert spam["python_extension"]["module"] == "spam"


def test_one_wheel_member(wheel: Path) -> None:
    doc = _json(f"{wheel}:demo.libs/libuser.so")
    [only] = doc["files"]
    assert only["path"] == f"{wheel}:demo.libs/libuser.so"
    assert only["soname"] == "libuser.so"
    code, out, _ = _run(f"{wheel}:demo.libs/libuser.so")
    assert code == 0 and out.startswith(f"== {wheel}:demo.libs/libuser.so")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (":demo/missing.so", "no member 'demo/missing.so'"),
        (":demo/fake.so", "not an ELF file"),
    ],
)
def test_bad_member(wheel: Path, target: str, message: str) -> None:
    code, out, err = _run(f"{wheel}{target}")
    assert code == 3
    assert out == ""
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_bad_inputs(tmp_path: Path, fixtures: dict[str, Path]) -> None:
    broken = tmp_path / "broken-1.0-py3-none-any.whl"
    broken.write_bytes(b"PK\x03\x04 not really")
    code, _, err = _run(str(broken))
    assert code == 3 and "not a zip file" in err
    misnamed = tmp_path / "broken.whl"
    misnamed.write_bytes(b"PK\x03\x04 not really")
    code, _, err = _run(str(misnamed))
    assert code == 3 and "not a valid wheel filename" in err
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    code, _, err = _run(str(text))
    assert code == 3 and err.startswith(f"manywheel: error: {text}: not an ELF file")


def test_several_files_go_on_after_a_failure(tmp_path: Path, fixtures: dict[str, Path]) -> None:
    missing = tmp_path / "missing.so"
    code, out, err = _run(str(missing), str(fixtures["libbase.so"]))
    assert code == 3
    assert f"== {fixtures['libbase.so']}" in out
    assert str(missing) in err


def test_help_lists_the_command() -> None:
    out = io.StringIO()
    assert main(["elf", "--help"], stdout=out, stderr=io.StringIO(), environ={}) == 0
