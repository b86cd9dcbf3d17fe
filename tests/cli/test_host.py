"""This machine's loader's own facts, passed to ``lddtree`` by the CLI, against the real
loaders: ``$PLATFORM`` (``haswell`` on an Intel CPU with AVX2 and friends, from glibc 2.26 on —
glibc 2.41 too), the glibc-hwcaps subdirectories and the legacy ones. A program whose RPATH is
``$ORIGIN/plat/$PLATFORM`` finds its library where the real loader does."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from manywheel.cli import main
from manywheel.cli.host import first_processor, host_loader, x86_platform
from tests.harness import run_in_root
from tests.harness.availability import skip_or_fail
from tests.linker.oracle import GLIBC_LOADER, run_loader
from tests.linker.programs import built

__all__ = ["built"]

#: Every value x86_64 glibc gives ``$PLATFORM``.
PLATFORMS = ("x86_64", "haswell", "xeon_phi")


@pytest.fixture(scope="module")
def platform_program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``prog`` with DT_RPATH ``$ORIGIN/plat/$PLATFORM`` needing ``libplat.so``, of which each
    ``plat/<platform>/`` holds a copy."""
    if shutil.which("gcc") is None or not Path(GLIBC_LOADER).exists():
        skip_or_fail("needs gcc and an x86_64 glibc loader")
    out = tmp_path_factory.mktemp("platform")
    (out / "plat.c").write_text("int plat(void) { return 1; }\n")
    for platform in PLATFORMS:
        (out / "plat" / platform).mkdir(parents=True)
        lib = out / "plat" / platform / "libplat.so"
        subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(lib), str(out / "plat.c")],
                       check=True)  # fmt: skip
    (out / "prog.c").write_text("int plat(void);\nint main(void) { return plat() - 1; }\n")
    subprocess.run(
        ["gcc", "-o", str(out / "prog"), str(out / "prog.c"), f"-L{out}/plat/x86_64", "-lplat",
         "-Wl,--disable-new-dtags,-rpath,$ORIGIN/plat/$PLATFORM"],
        check=True,
    )  # fmt: skip
    return out


def _real_choice(program: Path) -> str:
    chosen = run_loader(str(program)).chosen["libplat.so"]
    assert chosen is not None, "the real loader found no libplat.so"
    return chosen


def test_lddtree_expands_platform_as_this_machines_loader(platform_program: Path) -> None:
    out = io.StringIO()
    code = main(["lddtree", "--json", str(platform_program / "prog")], stdout=out, environ={})
    doc = json.loads(out.getvalue())
    [plat] = [r for r in doc["objects"][0]["needed"] if r["name"] == "libplat.so"]
    assert code == 0
    assert plat["path"] == _real_choice(platform_program / "prog")
    platform = doc["search"]["platform"] or "x86_64"
    assert plat["path"] == f"{platform_program}/plat/{platform}/libplat.so"


def test_the_hwcaps_subdirectories_are_the_real_loaders(built: Path) -> None:
    """The subdirectories the real loader tries in each system directory (its LD_DEBUG search
    path for a library it cannot find), glibc-hwcaps first, then the legacy ones."""
    facts = host_loader("x86_64", GLIBC_LOADER)
    subdirs = run_loader(str(built / "bin" / "missing_exe")).system_subdirs
    expected = tuple(s.removeprefix("glibc-hwcaps/") for s in subdirs if s.startswith("glibc-"))
    assert facts.hwcaps == expected
    assert facts.legacy_subdirs == tuple(s for s in subdirs if not s.startswith("glibc-hwcaps/"))


def test_another_architecture_or_a_root_keeps_the_baseline() -> None:
    assert host_loader("aarch64", "/lib/ld-linux-aarch64.so.1").platform is None
    assert host_loader("x86_64", "/nonexistent/ld.so").hwcaps == ()


def _cpu() -> dict[str, str]:
    return first_processor(Path("/proc/cpuinfo").read_text("ascii", "replace"))


@pytest.mark.parametrize(
    ("glibc", "cpu", "expected"),
    [
        ((2, 25), {"vendor_id": "GenuineIntel", "flags": "avx2 fma bmi1 bmi2 abm movbe popcnt"},
         None),
        ((2, 31), {"vendor_id": "GenuineIntel", "flags": "avx2 fma bmi1 bmi2 abm movbe popcnt"},
         "haswell"),
        ((2, 41), {"vendor_id": "AuthenticAMD", "flags": "avx2 fma bmi1 bmi2 abm movbe popcnt"},
         None),
        ((2, 36), {"vendor_id": "GenuineIntel", "flags": "avx2 fma bmi1 bmi2 movbe popcnt"}, None),
        ((2, 36), {"vendor_id": "GenuineIntel",
                   "flags": "avx512f avx512cd avx512er avx512pf avx2 fma bmi1 bmi2 abm movbe"},
         "xeon_phi"),
        ((2, 36), {"vendor_id": "GenuineIntel",
                   "flags": "avx512f avx512cd avx512er avx2 fma bmi1 bmi2 abm movbe popcnt"},
         "haswell"),
    ],
    ids=["before-2.26", "haswell", "amd", "no-lzcnt", "xeon-phi", "er-without-pf"],
)  # fmt: skip
def test_glibcs_rule(glibc: tuple[int, int], cpu: dict[str, str], expected: str | None) -> None:
    assert x86_platform(glibc, cpu) == expected


def _in_root_choice(root: Path, program: Path) -> str:
    """Where the root's own loader finds ``libplat.so`` for ``program``, copied into it."""
    target = root / "opt" / "platform-test"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(program.parent, target)
    done = run_in_root(
        root, ["/lib64/ld-linux-x86-64.so.2", "--list", "/opt/platform-test/prog"], timeout=120
    )
    shutil.rmtree(target)
    match = re.search(r"libplat\.so => /opt/platform-test/plat/(\w+)/libplat\.so", done.stdout)
    assert match is not None, done.stdout + done.stderr
    return match[1]


def _glibc_of(root: Path) -> tuple[int, int]:
    done = run_in_root(root, ["ldd", "--version"], timeout=120)
    match = re.search(r" (\d+)\.(\d+)$", done.stdout.splitlines()[0])
    assert match is not None, done.stdout
    return int(match[1]), int(match[2])


@pytest.mark.root
@pytest.mark.parametrize("suite", ["bullseye_root", "trixie_root"])
def test_the_cpuinfo_rule_is_the_real_loaders(
    suite: str, platform_program: Path, request: pytest.FixtureRequest
) -> None:
    """glibc 2.31 (no --list-diagnostics: the rule is what the CLI uses there) and 2.41 (the
    newest here, which still sets ``haswell``), each run on this CPU."""
    root: Path = request.getfixturevalue(suite)
    expected = _in_root_choice(root, platform_program / "prog")
    assert (x86_platform(_glibc_of(root), _cpu()) or "x86_64") == expected


@pytest.mark.root
def test_a_loader_without_diagnostics_falls_back_to_the_rule(bullseye_root: Path) -> None:
    """glibc 2.31's loader (run here, it answers no ``--list-diagnostics``): ``$PLATFORM`` by
    glibc's rule for this process's glibc, no hwcaps subdirectories claimed."""
    link = bullseye_root / "lib64" / "ld-linux-x86-64.so.2"
    loader = bullseye_root / str(link.readlink()).lstrip("/") if link.is_symlink() else link
    old = host_loader("x86_64", str(loader))
    glibc = re.search(r"(\d+)\.(\d+)", os.confstr("CS_GNU_LIBC_VERSION") or "")
    assert glibc is not None
    assert old.platform == x86_platform((int(glibc[1]), int(glibc[2])), _cpu())
    assert (old.hwcaps, old.legacy_subdirs) == ((), ())
