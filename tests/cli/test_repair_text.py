"""``manywheel repair`` says what it did in text (each graft, each file patched and how, why the
size changed), says what to try when it cannot, refuses two inputs that would be written under
one name before writing anything, and writes every wheel with the umask's mode."""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from manywheel.cli import main
from tests.audit.real_wheels import RealWheel, fetch
from tests.harness.extensions import write_wheel
from tests.repair.natives import Natives, unfindable_library

TORCH = RealWheel("torch==2.13.0+cpu", "manylinux_2_28_x86_64")


def _repair(argv: list[str], natives: Natives | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = {} if natives is None else {"AUDITWHEEL_LD_LIBRARY_PATH": str(natives.libdir)}
    code = main(["repair", *argv], stdout=out, stderr=err, environ=env)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def built_here(natives: Natives) -> Path:
    """An extension linking libfoo (outside the wheel: grafted) with this machine's build
    directory in its RPATH, as a setup.py build leaves it."""
    flags = ["-Wl,-rpath,/home/builder/build/lib", "-Wl,--disable-new-dtags"]
    ext = natives.extension("textgraft", "foo(1);", ["-lfoo"], body="int foo(int);", extra=flags)
    return natives.wheel("textgraft", {"textgraft.so": ext})


def test_the_text_says_what_was_done(built_here: Path, natives: Natives, tmp_path: Path) -> None:
    code, out, err = _repair(["-w", str(tmp_path), str(built_here)], natives)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    [written] = tmp_path.glob("*.whl")
    assert lines[0] == f"{built_here.name} -> {written}"
    foo = next(line for line in lines if line.startswith(f"  grafted {natives.libdir}/libfoo"))
    assert f"{natives.libdir}/libfoo.so.1 as textgraft.libs/libfoo-" in foo
    assert foo.endswith(", needed by textgraft.so)")
    bar = next(line for line in lines if line.startswith(f"  grafted {natives.libdir}/libbar"))
    assert bar.endswith(", needed by libfoo.so.1)")  # libfoo's own dependency
    assert "  patched textgraft.so:" in lines
    renamed = next(line for line in lines if "DT_NEEDED libfoo.so.1 renamed" in line)
    assert renamed.startswith("    DT_NEEDED libfoo.so.1 renamed libfoo-")
    assert (
        "    RPATH set to $ORIGIN/textgraft.libs (was RPATH /home/builder/build/lib); the build "
        "machine's /home/builder/build/lib removed (it leads outside the wheel)"
    ) in lines
    size = lines.index(next(line for line in lines if line.startswith("  size: ")))
    assert "members added (+" in lines[size + 1]  # the grafted libraries (libfoo and libbar)


def test_a_library_not_found_says_where_and_what_to_try(natives: Natives, tmp_path: Path) -> None:
    links = unfindable_library(tmp_path / "gone", "libgone.so.1")
    flags = [*links, "-Wl,-rpath,$ORIGIN/lib", "-Wl,--enable-new-dtags"]
    ext = natives.extension("textgone", "gone();", flags, body="int gone(void);")
    wheel = natives.wheel("textgone", {"textgone.so": ext})
    code, out, err = _repair(["-w", str(tmp_path / "w"), str(wheel)], natives)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert "the closest is manylinux_2_5_x86_64" in err
    assert "libgone.so.1 not found (textgone.so searched $ORIGIN/lib, then the system's" in err
    for option in ("AUDITWHEEL_LD_LIBRARY_PATH", "--ldpaths", "--exclude libgone.so.1",
                   "--from-wheel"):  # fmt: skip
        assert option in err
    code, _, err = _repair(["--exclude", "libgone.so.1", "-w", str(tmp_path / "w"), str(wheel)])
    assert (code, err) == (0, "")  # the option the message names does what it says


def test_the_closest_policy_has_the_fewest_reasons(tmp_path: Path) -> None:
    """torch's test program misses three libraries under every policy; older policies add
    symbol versions: the closest is the most compatible of those with three reasons, 2_28
    (it named 2_41, the newest)."""
    code, _, err = _repair(["-w", str(tmp_path), str(fetch(TORCH))])
    assert code == 2
    assert "cannot repair to any policy (the closest is manylinux_2_28_x86_64)" in err
    assert not any(tmp_path.iterdir())


def test_two_inputs_written_under_one_name_are_refused_first(
    built_here: Path, natives: Natives, tmp_path: Path
) -> None:
    """The same wheel from two directories, and one retagged by hand: refused before either
    is written."""
    (tmp_path / "a").mkdir()
    copy = shutil.copy(built_here, tmp_path / "a" / built_here.name)
    out = tmp_path / "out"
    code, text, err = _repair(["-w", str(out), str(built_here), str(copy)], natives)
    assert (code, text) == (2, "")
    assert err.startswith(f"manywheel: error: {built_here} and {copy} would both be written as ")
    assert not out.exists()


@pytest.fixture
def umask() -> Iterator[int]:
    previous = os.umask(0o027)
    try:
        yield 0o027
    finally:
        os.umask(previous)


def test_every_wheel_written_gets_the_umasks_mode(
    built_here: Path, natives: Natives, tmp_path: Path, umask: int
) -> None:
    """A repaired wheel and the copy of a pure one (which was 0600): 0666 less the umask."""
    pure = write_wheel(tmp_path, "purecopy", "1.0", "py3-none-any", {"purecopy/__init__.py": b""})
    out = tmp_path / "out"
    assert _repair(["--allow-pure-python-wheel", "-w", str(out), str(pure)])[0] == 0
    assert _repair(["-w", str(out), str(built_here)], natives)[0] == 0
    modes = {p.name: p.stat().st_mode & 0o777 for p in out.iterdir()}
    assert len(modes) == 2 and set(modes.values()) == {0o666 & ~umask}
