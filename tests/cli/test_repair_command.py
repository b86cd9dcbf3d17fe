"""``manywheel repair`` as cibuildwheel runs it: flags, environment variables, exit codes, and
exactly one wheel per input in the wheel directory."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from manywheel.cli import main
from manywheel.wheel import WheelFilename
from tests.harness.extensions import write_wheel
from tests.repair.natives import Natives


@pytest.fixture(scope="module")
def chain(natives: Natives) -> Path:
    ext = natives.extension("clichain", "foo(1);", ["-lfoo"], body="int foo(int);")
    return natives.wheel("clichain", {"clichain.so": ext})


def _run(argv: list[str], environ: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdout=out, stderr=err, environ=environ)
    return code, out.getvalue(), err.getvalue()


def test_repair_writes_one_wheel_and_reports_the_graft(
    chain: Path, natives: Natives, tmp_path: Path
) -> None:
    env = {"AUDITWHEEL_LD_LIBRARY_PATH": str(natives.libdir)}
    code, out, err = _run(["repair", "-w", str(tmp_path), str(chain)], env)
    assert (code, err) == (0, "")
    (made,) = tmp_path.glob("*.whl")
    assert "manylinux_2_5_x86_64" in made.name
    assert "grafted" in out and "libfoo.so.1" in out and str(made) in out


def test_auditwheel_plat_from_the_environment(
    chain: Path, natives: Natives, tmp_path: Path
) -> None:
    env = {
        "AUDITWHEEL_LD_LIBRARY_PATH": str(natives.libdir),
        "AUDITWHEEL_PLAT": "manylinux2014_x86_64",
    }
    code, _, err = _run(["repair", "--only-plat", "-w", str(tmp_path), str(chain)], env)
    assert code == 0, err
    (made,) = tmp_path.glob("*.whl")
    assert set(WheelFilename.parse(made.name).platform_tags) == {
        "manylinux_2_17_x86_64",
        "manylinux2014_x86_64",
    }


def test_compression_level_from_the_environment_is_checked(chain: Path, tmp_path: Path) -> None:
    env = {"AUDITWHEEL_ZIP_COMPRESSION_LEVEL": "11"}
    code, _, err = _run(["repair", "-w", str(tmp_path), str(chain)], env)
    assert code == 2 and "AUDITWHEEL_ZIP_COMPRESSION_LEVEL" in err


def test_missing_library_exits_2_with_one_line_and_no_output(chain: Path, tmp_path: Path) -> None:
    code, out, err = _run(["repair", "-w", str(tmp_path / "w"), str(chain)], {})
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "libfoo.so.1" in err and "Traceback" not in err
    assert list((tmp_path / "w").iterdir()) == []


def test_pure_wheel_exits_1_unless_allowed(tmp_path: Path) -> None:
    pure = write_wheel(tmp_path, "purecli", "1.0", "py3-none-any", {"purecli/__init__.py": b""})
    assert _run(["repair", "-w", str(tmp_path / "w"), str(pure)], {})[0] == 1
    code, _, _ = _run(
        ["repair", "--allow-pure-python-wheel", "-w", str(tmp_path / "w"), str(pure)], {}
    )
    assert code == 0 and (tmp_path / "w" / pure.name).read_bytes() == pure.read_bytes()


def test_missing_input_exits_3(tmp_path: Path) -> None:
    code, _, err = _run(["repair", "-w", str(tmp_path), str(tmp_path / "nope.whl")], {})
    assert code == 3 and "nope.whl" in err


def test_corrupt_wheel_exits_3_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad-1.0-cp311-cp311-linux_x86_64.whl"
    bad.write_bytes(b"PK\x03\x04 this is not a zip")
    code, _, err = _run(["repair", "-w", str(tmp_path / "w"), str(bad)], {})
    assert code == 3 and "bad-1.0" in err and "Traceback" not in err
    assert not (tmp_path / "w").exists() or list((tmp_path / "w").iterdir()) == []


def test_json_report_says_what_was_done(chain: Path, natives: Natives, tmp_path: Path) -> None:
    import json

    env = {"AUDITWHEEL_LD_LIBRARY_PATH": str(natives.libdir)}
    code, out, _ = _run(["repair", "--json", "-w", str(tmp_path), str(chain)], env)
    assert code == 0
    report = json.loads(out)
    assert report["schema_version"] == 1
    (wheel,) = report["wheels"]
    (made,) = tmp_path.glob("*.whl")
    assert wheel["output"] == str(made) and wheel["tag"] == "manylinux_2_5_x86_64"
    grafted = {tuple(g["sonames"]) for g in wheel["grafted"]}
    assert grafted == {("libfoo.so.1",), ("libbar.so.1",)}
    assert all(g["size"] > 0 and g["member"].startswith("clichain.libs/") for g in wheel["grafted"])
    assert wheel["size"]["growth"] == made.stat().st_size - chain.stat().st_size
    (patched,) = wheel["patched"]
    assert patched["member"] == "clichain.so" and patched["rpath"] == "$ORIGIN/clichain.libs"


def test_from_wheel_flag_is_validated(chain: Path, tmp_path: Path) -> None:
    code, _, err = _run(["repair", "--from-wheel", "nonsense", "-w", str(tmp_path), str(chain)], {})
    assert code == 2 and "GLOB=DIST:DIR" in err


def test_wheel_dir_that_is_a_file_is_an_input_error(chain: Path, tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("")
    code, _, err = _run(["repair", "-w", str(taken), str(chain)], {})
    assert code == 3 and "not a directory" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("plat", "message"),
    [
        ("manylinux_9_99_x86_64", "unknown policy or platform tag"),
        ("manylinux1_aarch64", "manylinux_2_5 has no data for aarch64"),
        ("linux_x86_64", "not a policy a repair can target"),
    ],
    ids=["unknown", "no-data-for-arch", "generic"],
)
@pytest.mark.parametrize("source", ["flag", "environment"])
def test_a_bad_plat_is_refused_before_any_wheel_is_read(
    plat: str, message: str, source: str, tmp_path: Path
) -> None:
    """The wheels given are not wheels at all (a corrupt one, a missing one): had either been
    read, the exit code would be 3. The --plat problem comes first, as a usage error."""
    bad = tmp_path / "bad-1.0-cp311-cp311-linux_x86_64.whl"
    bad.write_bytes(b"PK\x03\x04 this is not a zip")
    flags, env = (["--plat", plat], {}) if source == "flag" else ([], {"AUDITWHEEL_PLAT": plat})
    wheels = [str(bad), str(tmp_path / "missing-1.0-py3-none-any.whl")]
    code, out, err = _run(["repair", *flags, "-w", str(tmp_path / "w"), *wheels], env)
    assert (code, out) == (2, "") and message in err and err.count("\n") == 1
    assert not (tmp_path / "w").exists()
