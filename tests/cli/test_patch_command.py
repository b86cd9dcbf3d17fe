"""``manywheel patch``: patchelf's options on manywheel's editor. Files are replaced atomically
(or written to --output), wheel members are written as a new wheel and the input is never
modified, refusals say why with the documented exit codes."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import zipfile
from pathlib import Path

import pytest

from manywheel.cli import main
from manywheel.elf import Machine, parse_elf
from manywheel.wheel import verify_wheel
from tests.elf.editing import set_machine
from tests.fixtures.elf import build
from tests.harness.downloads import download_wheel


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build.build_host(tmp_path_factory.mktemp("patch-fixtures"))


def _copy(fixtures: dict[str, Path], name: str, tmp_path: Path) -> Path:
    path = tmp_path / name
    path.write_bytes(fixtures[name].read_bytes())
    path.chmod(0o750)
    return path


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["patch", *argv], stdout=out, stderr=err, environ={})
    return code, out.getvalue(), err.getvalue()


def test_a_file_is_replaced_atomically_keeping_its_mode(
    fixtures: dict[str, Path], tmp_path: Path
) -> None:
    path = _copy(fixtures, "libuser.so", tmp_path)
    before = path.read_bytes()
    link = tmp_path / "hardlink.so"
    os.link(path, link)
    code, out, err = _run("--set-rpath", "$ORIGIN/../lib", str(path))
    assert (code, out, err) == (0, "", "")
    assert parse_elf(path.read_bytes()).rpath == ("$ORIGIN/../lib",)  # a DT_RPATH stays one
    assert stat.S_IMODE(path.stat().st_mode) == 0o750
    assert link.read_bytes() == before  # a new file was renamed over the name


def test_output_leaves_the_input_alone(fixtures: dict[str, Path], tmp_path: Path) -> None:
    path = _copy(fixtures, "librunpath.so", tmp_path)
    before = path.read_bytes()
    code, _, _ = _run("--set-soname", "libnew.so.2", "-o", str(tmp_path / "out.so"), str(path))
    assert code == 0 and path.read_bytes() == before
    assert parse_elf((tmp_path / "out.so").read_bytes()).soname == "libnew.so.2"
    assert stat.S_IMODE((tmp_path / "out.so").stat().st_mode) == 0o750


def test_print_options(fixtures: dict[str, Path], tmp_path: Path) -> None:
    user = _copy(fixtures, "libuser.so", tmp_path)
    prog = _copy(fixtures, "prog", tmp_path)
    code, out, _ = _run("--print-rpath", "--print-needed", "--print-soname", str(user))
    assert (code, out) == (0, "$ORIGIN/../lib:/opt/fixture\nlibbase.so.1\nlibuser.so\n")
    code, out, _ = _run("--print-interpreter", "--print-soname", str(user), str(prog))
    assert (code, out) == (0, f"{user}: libuser.so\n{prog}: /lib/ld-fixture.so.1\n")


def test_prints_show_the_result(fixtures: dict[str, Path], tmp_path: Path) -> None:
    path = _copy(fixtures, "librunpath.so", tmp_path)
    code, out, _ = _run("--add-rpath", "/opt/x", "--print-rpath", str(path))
    assert (code, out) == (0, "$ORIGIN:/opt/x\n")
    assert parse_elf(path.read_bytes()).runpath == ("$ORIGIN", "/opt/x")


@pytest.mark.parametrize(
    ("fixture", "argv", "rpath", "runpath"),
    [
        ("libuser.so", ["--set-rpath", "/a"], ("/a",), ()),
        ("librunpath.so", ["--set-rpath", "/a"], (), ("/a",)),
        ("librunpath.so", ["--force-rpath", "--set-rpath", "/a"], ("/a",), ()),
        ("libbase.so", ["--set-rpath", "/a"], (), ("/a",)),
        ("libuser.so", ["--remove-rpath"], (), ()),
    ],
    ids=["rpath-stays", "runpath-stays", "force-rpath", "new-is-runpath", "remove"],
)
def test_search_path_kinds(  # noqa: PLR0917 - parametrized
    fixtures: dict[str, Path],
    tmp_path: Path,
    fixture: str,
    argv: list[str],
    rpath: tuple[str, ...],
    runpath: tuple[str, ...],
) -> None:
    path = _copy(fixtures, fixture, tmp_path)
    assert _run(*argv, str(path))[0] == 0
    elf = parse_elf(path.read_bytes())
    assert (elf.rpath, elf.runpath) == (rpath, runpath)


def test_needed_and_soname(fixtures: dict[str, Path], tmp_path: Path) -> None:
    path = _copy(fixtures, "legacy.so", tmp_path)
    code, _, err = _run(
        "--replace-needed",
        "libpython2.7.so.1.0",
        "libpython-0123abcd.so",
        "--set-soname",
        "legacy-0123abcd.so",
        str(path),
    )
    assert (code, err) == (0, "")
    elf = parse_elf(path.read_bytes())
    assert (elf.needed, elf.soname) == (("libpython-0123abcd.so",), "legacy-0123abcd.so")
    code, _, err = _run(
        "--remove-needed", "libpython-0123abcd.so", "--remove-needed", "no.so", str(path)
    )
    assert code == 0 and parse_elf(path.read_bytes()).needed == ()
    assert err == f"manywheel: {path}: no DT_NEEDED no.so: nothing to change\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--set-interpreter", "/lib/ld.so"], "--set-interpreter is not offered"),
        (["--shrink-rpath"], "--shrink-rpath is not offered"),
        (["--remove-rpath", "--set-rpath", "/a"], "cannot be combined"),
        (["--force-rpath"], "--force-rpath goes with"),
    ],
    ids=["set-interpreter", "shrink-rpath", "remove-and-set", "force-alone"],
)
def test_usage_errors(
    fixtures: dict[str, Path], tmp_path: Path, argv: list[str], message: str
) -> None:
    path = _copy(fixtures, "libuser.so", tmp_path)
    before = path.read_bytes()
    code, out, err = _run(*argv, str(path))
    assert (code, out) == (2, "") and message in err and err.count("\n") == 1
    assert path.read_bytes() == before


def test_output_takes_one_file(fixtures: dict[str, Path], tmp_path: Path) -> None:
    a, b = _copy(fixtures, "libuser.so", tmp_path), _copy(fixtures, "libbase.so", tmp_path)
    code, _, err = _run("--set-rpath", "/a", "-o", str(tmp_path / "o.so"), str(a), str(b))
    assert code == 2 and "--output takes exactly one FILE" in err


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: b"not an elf file at all", "not an ELF file"),
        (lambda d: set_machine(d, Machine.MIPS), "not an architecture any policy names"),
        (lambda d: d[:1000], "past the end"),
    ],
    ids=["not-elf", "mips", "truncated"],
)
def test_files_that_cannot_be_edited_are_left_alone(
    fixtures: dict[str, Path], tmp_path: Path, make: object, message: str
) -> None:
    path = tmp_path / "bad.so"
    path.write_bytes(make(fixtures["libuser.so"].read_bytes()))  # type: ignore[operator]
    before = path.read_bytes()
    code, out, err = _run("--set-rpath", "/a" * 5000, str(path))
    assert (code, out) == (3, "") and message in err and err.count("\n") == 1
    assert "Traceback" not in err and path.read_bytes() == before


def test_missing_file(tmp_path: Path) -> None:
    code, _, err = _run("--set-rpath", "/a", str(tmp_path / "none.so"))
    assert code == 3 and "No such file" in err


@pytest.fixture(scope="module")
def wheel() -> Path:
    return download_wheel("PyYAML==6.0.2", "manylinux_2_17_x86_64")


MEMBER = "yaml/_yaml.cpython-311-x86_64-linux-gnu.so"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.network
def test_a_wheel_member_is_written_as_a_new_wheel(wheel: Path, tmp_path: Path) -> None:
    before = _sha(wheel)
    out_dir = tmp_path / "wheelhouse"
    code, out, err = _run(
        "--set-rpath",
        "$ORIGIN/../PyYAML.libs",
        "--print-rpath",
        "-w",
        str(out_dir),
        f"{wheel}:{MEMBER}",
    )
    assert code == 0, err
    assert out == "$ORIGIN/../PyYAML.libs\n"
    assert f"-> {out_dir / wheel.name}" in err
    assert _sha(wheel) == before
    written = out_dir / wheel.name
    assert verify_wheel(written) == ()
    with zipfile.ZipFile(written) as z, zipfile.ZipFile(wheel) as original:
        assert parse_elf(z.read(MEMBER)).runpath == ("$ORIGIN/../PyYAML.libs",)
        assert sorted(z.namelist()) == sorted(original.namelist())


@pytest.mark.network
def test_a_wheel_member_needs_a_wheel_directory_other_than_its_own(
    wheel: Path, tmp_path: Path
) -> None:
    code, _, err = _run("--set-rpath", "$ORIGIN", f"{wheel}:{MEMBER}")
    assert code == 2 and "give -w DIR" in err
    copy = tmp_path / wheel.name
    copy.write_bytes(wheel.read_bytes())
    code, _, err = _run("--set-rpath", "$ORIGIN", "-w", str(tmp_path), f"{copy}:{MEMBER}")
    assert code == 3 and "would replace its input" in err
    code, _, err = _run("--set-rpath", "$ORIGIN", "-w", str(tmp_path / "w"), f"{copy}:yaml/none.so")
    assert code == 3 and "no member 'yaml/none.so'" in err
    assert not (tmp_path / "w").exists() or list((tmp_path / "w").iterdir()) == []


@pytest.mark.network
def test_printing_a_wheel_member_writes_nothing(wheel: Path, tmp_path: Path) -> None:
    code, out, _ = _run("--print-needed", f"{wheel}:{MEMBER}")
    assert code == 0 and out == "libpthread.so.0\nlibc.so.6\n"
