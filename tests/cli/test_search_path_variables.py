"""``show``, ``repair`` and ``lddtree`` read the search-path variables one way, glibc's: ``:`` and
``;`` separate, an empty entry is the current directory. (They used to split differently: ``show``
and ``repair`` on ``:`` alone, dropping empty entries, so a library ``lddtree`` found was "not
found" by the audit of the wheel holding the very same file.)"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from manywheel.cli import main
from tests.repair.natives import Natives


@pytest.fixture(scope="module")
def chain(natives: Natives) -> Path:
    ext = natives.extension("spchain", "foo(1);", ["-lfoo"], body="int foo(int);")
    return natives.wheel("spchain", {"spchain.so": ext})


def _run(argv: list[str], environ: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdout=out, stderr=err, environ=environ)
    return code, out.getvalue(), err.getvalue()


#: (variable, its value, the current directory); ``{libdir}`` is where libfoo.so.1 lives.
CASES = {
    "llp-semicolon": ("LD_LIBRARY_PATH", "/nonexistent;{libdir}", "/"),
    "llp-empty-entry": ("LD_LIBRARY_PATH", "/nonexistent::", "{libdir}"),
    "llp-slashes": ("LD_LIBRARY_PATH", "{libdir}//", "/"),
    "extra-semicolon": ("AUDITWHEEL_LD_LIBRARY_PATH", "/nonexistent;{libdir}", "/"),
    "extra-empty-entry": ("AUDITWHEEL_LD_LIBRARY_PATH", ":/nonexistent", "{libdir}"),
}


@pytest.mark.parametrize("case", CASES)
def test_show_repair_and_lddtree_find_the_same_library(
    case: str, chain: Path, natives: Natives, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    variable, value, cwd = CASES[case]
    libdir = str(natives.libdir)
    monkeypatch.chdir(cwd.format(libdir=libdir))
    env = {variable: value.format(libdir=libdir)}
    expected = f"{libdir}/libfoo.so.1"

    code, out, err = _run(["lddtree", "--json", str(natives.wheels / "spchain.so")], env)
    (libfoo,) = (
        r for o in json.loads(out)["objects"] for r in o["needed"] if r["name"] == "libfoo.so.1"
    )
    assert (code, libfoo["path"]) == (0, expected), err

    code, out, err = _run(["show", "--json-details", str(chain)], env)
    (member,) = json.loads(out)["wheels"][0]["members"]
    (needed,) = (n for n in member["needed"] if n["soname"] == "libfoo.so.1")
    assert (code, needed["path"]) == (0, expected), err

    code, out, err = _run(["repair", "--json", "-w", str(tmp_path), str(chain)], env)
    assert code == 0, err
    (wheel,) = json.loads(out)["wheels"]
    assert expected in {g["source"] for g in wheel["grafted"]}
