"""``manywheel lddtree``: the tree, the reasons, the JSON document, the exit code."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from manywheel.cli import main
from tests.linker.programs import built

__all__ = ["built"]

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "lddtree-json.md"


def _run(argv: list[str], environ: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["lddtree", *argv], stdout=out, stderr=err, environ=environ or {})
    return code, out.getvalue(), err.getvalue()


def _json(argv: list[str], environ: dict[str, str] | None = None) -> tuple[int, Any]:
    code, out, _ = _run([*argv, "--json"], environ)
    return code, json.loads(out)


def test_tree_shows_each_library_once_with_its_rule(built: Path) -> None:
    code, out, err = _run([str(built / "bin/rpath_exe")])
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith(f"{built}/bin/rpath_exe  [glibc x86_64, interpreter ")
    assert f"    libx.so => {built}/x/libx.so  [rpath {built}/x]" in lines
    assert f"  libx.so ({built}/x/libx.so) needs" in lines
    assert f"    liby.so => {built}/a/liby.so  [rpath {built}/a of {built}/bin/rpath_exe]" in lines
    assert "    libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6  [ld.so.cache]" in lines
    # spelled as show spells it (the rule's name)
    assert "    libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6  [already-loaded]" in lines


def _loaded_in_order(text: str) -> list[str]:
    """The paths the text says are loaded (not already loaded), in the order it says so."""
    return [
        line.split(" => ", 1)[1].split("  [", 1)[0]
        for line in text.splitlines()
        if " => /" in line and "[already-loaded]" not in line and "[interpreter]" not in line
    ]


@pytest.mark.parametrize("program", ["/usr/bin/python3", "/usr/bin/curl", "/usr/bin/ssh"])
def test_the_text_follows_the_loaders_order(program: str) -> None:
    """Every library appears where the loader loads it (``ldd`` lists the objects in load
    order: breadth first), and a name is "already loaded" only after the line loading it."""
    if not Path(program).exists():
        pytest.skip(f"{program} is not installed")
    code, out, _ = _run([program])
    assert code == 0
    ldd = subprocess.run(["ldd", program], capture_output=True, text=True, check=True).stdout
    theirs = [line.split(" => ")[1].split(" (")[0] for line in ldd.splitlines() if " => /" in line]
    ours = [str(Path(p).resolve()) for p in _loaded_in_order(out)]
    assert ours == [str(Path(p).resolve()) for p in theirs]
    seen: set[str] = set()
    for line in out.splitlines()[1:]:
        name = line.strip().split(" ", 1)[0]
        if "[already-loaded]" in line:
            assert name in seen, f"{name} is 'already loaded' before it is loaded"
        elif " => " in line:
            seen.add(name)


def _colored(path: Path) -> tuple[int, str]:
    out = io.StringIO()
    argv = ["--color", "always", "lddtree", str(path)]
    return main(argv, stdout=out, stderr=io.StringIO(), environ={}), out.getvalue()


def test_not_found_and_version_failures_are_highlighted(built: Path) -> None:
    code, text = _colored(built / "bin/missing_exe")
    assert code == 1
    assert "    \x1b[1;31mlibmissing.so => not found\x1b[0m" in text.splitlines()
    code, text = _colored(built / "bin/version_exe")
    assert code == 1
    assert "\x1b[1;31mversion failures:\x1b[0m" in text
    program = f"{built}/bin/version_exe"
    expected = f"{built}/v1/libv.so: version `VERS_2' not found (required by {program})"
    assert f"\x1b[1;31m    {expected}\x1b[0m" in text


def test_verbose_explains_skipped_candidates(built: Path) -> None:
    _, out, _ = _run(["-v", str(built / "bin/wrong_class_exe")])
    assert f"skipped {built}/w32/libw.so: wrong ELF class: ELFCLASS32" in out


def test_origin_rule_shows_the_entry_as_written(built: Path) -> None:
    _, out, _ = _run([str(built / "bin/origin_exe")])
    assert f"libo.so => {built}/bin/../lib/libo.so  [runpath $ORIGIN/../lib]" in out


def test_ld_library_path_is_read_from_the_environment(built: Path) -> None:
    llp = {"LD_LIBRARY_PATH": f"{built}/l1"}
    _, doc = _json([str(built / "bin/llp_runpath_exe")], llp)
    libp = doc["objects"][0]["needed"][0]
    assert (libp["rule"], libp["path"]) == ("ld-library-path", f"{built}/l1/libp.so")
    assert doc["search"]["ld_library_path"] == [f"{built}/l1"]


def test_auditwheel_ld_library_path_adds_and_ldpaths_replace(built: Path) -> None:
    extra = {"AUDITWHEEL_LD_LIBRARY_PATH": f"{built}/a"}
    code, doc = _json([str(built / "bin/runpath_exe")], extra)
    assert code == 0
    liby = next(r for o in doc["objects"] for r in o["needed"] if r["name"] == "liby.so")
    assert liby["rule"] == "extra-ldpaths"
    code, doc = _json([str(built / "bin/runpath_exe"), "--ldpaths", f"{built}/a"])
    assert code == 1
    assert {m["name"] for m in doc["not_found"]} == {"libc.so.6"}


def test_json_document(built: Path) -> None:
    code, doc = _json([str(built / "bin/version_exe")])
    assert code == 1
    assert doc["schema_version"] == 1
    assert (doc["flavor"], doc["arch"], doc["ok"]) == ("glibc", "x86_64", False)
    assert doc["interpreter"] == "/lib64/ld-linux-x86-64.so.2"
    [failure] = doc["version_failures"]
    assert failure["version"] == "VERS_2"
    assert failure["message"].endswith(f"(required by {built}/bin/version_exe)")
    paths = [o["path"] for o in doc["objects"]]
    assert len(paths) == len(set(paths))
    libv = doc["objects"][0]["needed"][0]
    assert set(libv) == {
        "name", "path", "rule", "entry", "directory", "entry_owner", "loader_chain", "rejected",
        "error",
    }  # fmt: skip


def test_json_keys_are_documented(built: Path) -> None:
    _, doc = _json([str(built / "bin/wrong_class_exe")])
    text = SCHEMA.read_text(encoding="utf-8")
    keys: set[str] = set(doc)
    keys |= set(doc["objects"][0]) | set(doc["objects"][0]["needed"][0]) | set(doc["search"])
    keys |= set(doc["objects"][0]["needed"][0]["rejected"][0])
    assert sorted(k for k in keys if f"`{k}`" not in text) == []


def test_root_keeps_the_host_out(built: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "lib64").mkdir(parents=True)
    (root / "bin").mkdir()
    shutil.copy(built / "bin/origin_exe", root / "bin/prog")
    code, doc = _json([str(root / "bin/prog"), "--root", str(root)], {"LD_LIBRARY_PATH": "/lib"})
    assert code == 1
    assert doc["file"] == "/bin/prog"
    assert doc["interpreter"] is None
    assert doc["search"]["ld_library_path"] == []
    assert {m["name"] for m in doc["not_found"]} == {"libo.so", "libc.so.6"}


def test_a_file_outside_the_root_is_resolved_against_it(built: Path, tmp_path: Path) -> None:
    code, doc = _json([str(built / "bin/rpath_exe"), "--root", str(tmp_path)])
    assert code == 1
    assert doc["file"] == f"{built}/bin/rpath_exe"
    assert {m["name"] for m in doc["not_found"]} == {"libx.so", "libc.so.6"}


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["/nonexistent/file"], 3, "/nonexistent/file"),
        (["/etc/hostname"], 3, "/etc/hostname"),
    ],
    ids=["missing", "not-elf"],
)
def test_unusable_input(argv: list[str], code: int, message: str) -> None:
    got, out, err = _run(argv)
    assert (got, out) == (code, "")
    assert err.startswith("manywheel: error: ") and message in err


def test_loaded_by_resolves_as_the_program_would_dlopen(built: Path) -> None:
    ext = str(built / "dl/ext/ext.so")
    assert _run([ext])[0] == 1
    code, doc = _json([ext, "--loaded-by", str(built / "bin/dlopen_host")])
    assert code == 0
    assert (doc["file"], doc["loaded_by"]) == (ext, str(built / "bin/dlopen_host"))
    ext_object = next(o for o in doc["objects"] if o["path"] == ext)
    assert ext_object["needed"][0]["rule"] == "rpath"


def test_a_fatal_candidate_is_shown_as_the_loaders_error(built: Path) -> None:
    code, out, _ = _run([str(built / "bin/bad_pie_exe")])
    assert code == 1
    bad = f"{built}/bad/pie/liby.so"
    expected = f"liby.so => error: {bad}: cannot dynamically load position-independent executable"
    assert expected in out
