"""``manywheel lddtree`` on wheels, as ``elf`` reads them: one member (``x.whl:pkg/_ext.so``)
resolved where the wheel installs it (its ``$ORIGIN`` leading to the other members), a whole
wheel (a tree per member loaded on its own), and chains deeper than any recursion."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from manywheel.cli import main
from tests.audit.builders import EXT, Builder
from tests.audit.chains import Chains, build_chains


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["lddtree", *argv], stdout=out, stderr=err, environ={})
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An extension that finds its library in the wheel through RUNPATH ``$ORIGIN/../pkg.libs``,
    and an executable that needs a library nowhere to be found."""
    work = tmp_path_factory.mktemp("bundled")
    build = Builder(work, work / "lib")
    build.libdir.mkdir()
    lib = build.library("libinside.so.1", "int inside(void) { return 1; }")
    ext = build.extension(
        "uses", "inside()", prelude="int inside(void);", links=["-linside"],
        flags=["-Wl,-rpath,$ORIGIN/../pkg.libs", "-Wl,--enable-new-dtags"],
    )  # fmt: skip
    build.library("libgone.so.1", "int gone(void) { return 2; }")
    exe = build.executable("tool", "gone()", links=["-lgone"])
    (build.libdir / "libgone.so.1").unlink()
    files = {f"pkg/uses{EXT}": ext, "pkg.libs/libinside.so.1": lib.read_bytes(), "pkg/tool": exe}
    return build.wheel("bundled", files)


def test_a_member_resolves_beside_the_others(bundled: Path) -> None:
    code, out, err = _run([f"{bundled}:pkg/uses{EXT}"])
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith(f"{bundled.name}:pkg/uses{EXT}  [glibc x86_64, interpreter ")
    assert "    libinside.so.1 => pkg.libs/libinside.so.1  [runpath $ORIGIN/../pkg.libs]" in lines


def test_a_member_as_json(bundled: Path) -> None:
    code, out, _ = _run([f"{bundled}:pkg/uses{EXT}", "--json"])
    doc = json.loads(out)
    assert (code, doc["wheel"], doc["file"], doc["ok"]) == (0, str(bundled), f"pkg/uses{EXT}", True)
    [inside] = [r for r in doc["objects"][0]["needed"] if r["name"] == "libinside.so.1"]
    assert (inside["path"], inside["rule"]) == ("pkg.libs/libinside.so.1", "runpath")


def test_a_whole_wheel_is_a_tree_per_member_loaded_on_its_own(bundled: Path) -> None:
    """The extension and the executable; the library is in the extension's tree."""
    code, out, _ = _run([str(bundled), "--json"])
    doc = json.loads(out)
    assert (code, doc["wheel"], doc["ok"]) == (1, str(bundled), False)  # libgone is missing
    assert sorted(t["file"] for t in doc["trees"]) == ["pkg/tool", f"pkg/uses{EXT}"]
    [tool] = [t for t in doc["trees"] if t["file"] == "pkg/tool"]
    assert tool["not_found"] == [{"requester": "pkg/tool", "name": "libgone.so.1"}]
    code, text, _ = _run([str(bundled)])
    assert code == 1 and "    libgone.so.1 => not found" in text.splitlines()


@pytest.mark.parametrize(
    ("target", "problem"),
    [("pkg/absent.so", "no member 'pkg/absent.so'"), ("pkg/", "no member 'pkg/'")],
    ids=["absent", "directory"],
)
def test_a_member_that_is_not_there(bundled: Path, target: str, problem: str) -> None:
    code, out, err = _run([f"{bundled}:{target}"])
    assert (code, out, err) == (3, "", f"manywheel: error: {bundled}: {problem}\n")


@pytest.fixture(scope="module")
def deep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Chains, Chains]:
    work = tmp_path_factory.mktemp("deep")
    (work / "lib").mkdir()
    build = Builder(work, work / "lib")
    return build_chains(build, 100), build_chains(build, 1000)


def _json(argv: list[str]) -> tuple[int, str, Any]:
    code, out, err = _run([*argv, "--json"])
    assert err == ""
    return code, out, json.loads(out)


def test_a_chain_deeper_than_any_recursion(deep: tuple[Chains, Chains]) -> None:
    """A thousand libraries, each needing the next: the text is a section per link (it
    recursed once per level, and a thousand levels was an internal error), the JSON grows
    with the chain, not with its square (every resolution repeated the whole loader chain)."""
    small, big = deep
    code, text, err = _run([str(big.files / "libk000.so")])
    assert (code, err) == (0, "")
    # the header, the file's one NEEDED, then a section of two lines per link after it
    assert len(text.splitlines()) == 2 + 2 * (big.count - 2)
    sizes = [len(_json([str(c.files / "libk000.so")])[1]) for c in (small, big)]
    assert sizes[1] < 15 * sizes[0], sizes  # 10 times the links: about 10 times the bytes


def test_a_chain_in_a_wheel_is_one_tree(deep: tuple[Chains, Chains]) -> None:
    _, big = deep
    code, _, doc = _json([str(big.chain)])
    assert code == 0
    [tree] = doc["trees"]
    assert tree["file"] == "pkg/libk000.so"
    assert len(tree["objects"]) == big.count + 1  # and the interpreter
