"""Other architectures: the names, the binfmt_misc entry qemu needs (its checks on a stand-in
directory, and the machine's real one), and an arm64 root whose python really is emulated."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import pytest

from manywheel.build.qemu import (
    ARCHITECTURES,
    BINFMT_CONF_DIRS,
    BINFMT_DIR,
    debian_arch,
    ensure_binfmt,
    needs_emulation,
)
from manywheel.build.roots_errors import UnavailableError
from manywheel.build.roots_run import run_in_root
from manywheel.elf import Machine, read_elf
from tests.harness.availability import skip_or_fail
from tests.harness.nobody import as_nobody, shared_directory

LINE = (
    ":qemu-aarch64:M::\\x7fELF\\x02:\\xff\\xff\\xff\\xff\\xff:/usr/libexec/qemu-binfmt/aarch64:OPF"
)


@pytest.mark.parametrize(
    ("machine", "debian"),
    [
        ("x86_64", "amd64"),
        ("aarch64", "arm64"),
        ("armv7l", "armhf"),
        ("i686", "i386"),
        ("ppc64le", "ppc64el"),
        ("s390x", "s390x"),
        ("arm64", "arm64"),
        ("i586", "i386"),
    ],
)
def test_debian_arch(machine: str, debian: str) -> None:
    assert debian_arch(machine) == debian


def test_unknown_arch() -> None:
    with pytest.raises(ValueError, match="unknown architecture 'mips'"):
        debian_arch("mips")


def test_what_needs_emulation() -> None:
    assert not needs_emulation("amd64", "amd64")
    assert not needs_emulation("i386", "amd64")
    assert needs_emulation("arm64", "amd64")
    assert needs_emulation("amd64", "arm64")
    assert {a.qemu for a in ARCHITECTURES.values()} >= {"x86_64", "aarch64", "arm", "ppc64le"}


def _standin(tmp_path: Path, entry: str | None, conf: bool = True) -> tuple[Path, Path]:
    binfmt = tmp_path / "binfmt_misc"
    binfmt.mkdir()
    (binfmt / "register").write_text("")
    if entry is not None:
        (binfmt / "qemu-aarch64").write_text(entry)
    confs = tmp_path / "binfmt.d"
    confs.mkdir()
    if conf:
        (confs / "qemu-aarch64.conf").write_text(LINE + "\n")
    return binfmt, confs


ENABLED = "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64\nflags: OCF\noffset 0\n"


def test_a_registered_entry_with_the_f_flag_is_enough(tmp_path: Path) -> None:
    binfmt, confs = _standin(tmp_path, ENABLED)
    ensure_binfmt("arm64", native_arch="amd64", binfmt_dir=binfmt, conf_dirs=[confs])
    assert (binfmt / "register").read_text() == ""  # nothing was registered again


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (ENABLED.replace("enabled", "disabled"), "qemu-aarch64 is disabled"),
        (ENABLED.replace("OCF", "OC"), "lacks the F flag, so /usr/libexec/qemu-binfmt/aarch64"),
    ],
    ids=["disabled", "no-fix-binary"],
)
def test_an_unusable_entry_says_why(tmp_path: Path, entry: str, message: str) -> None:
    binfmt, confs = _standin(tmp_path, entry)
    with pytest.raises(UnavailableError, match=message):
        ensure_binfmt("arm64", native_arch="amd64", binfmt_dir=binfmt, conf_dirs=[confs])


def test_without_qemu_user_static(tmp_path: Path) -> None:
    binfmt, confs = _standin(tmp_path, None, conf=False)
    with pytest.raises(UnavailableError, match="apt-get install qemu-user-static"):
        ensure_binfmt("arm64", native_arch="amd64", binfmt_dir=binfmt, conf_dirs=[confs])


def test_native_and_compatible_architectures_need_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nothing"
    ensure_binfmt("amd64", native_arch="amd64", binfmt_dir=missing, conf_dirs=[missing])
    ensure_binfmt("i386", native_arch="amd64", binfmt_dir=missing, conf_dirs=[missing])


def test_registering_as_root_writes_qemus_line(tmp_path: Path) -> None:
    """The stand-in's register file receives qemu-user-static's line (the kernel would then
    make the entry; a stand-in does not, which is reported)."""
    if os.geteuid() != 0:
        skip_or_fail("registering a binfmt entry needs root")
    binfmt, confs = _standin(tmp_path, None)
    with pytest.raises(UnavailableError, match="qemu-aarch64 did not appear"):
        ensure_binfmt("arm64", native_arch="amd64", binfmt_dir=binfmt, conf_dirs=[confs])
    assert (binfmt / "register").read_text() == LINE + "\n"


def _without_root(binfmt: Path, confs: Path) -> str:
    try:
        ensure_binfmt("arm64", native_arch="amd64", binfmt_dir=binfmt, conf_dirs=[confs])
    except UnavailableError as e:
        return str(e)
    return "registered"


def test_not_root_gets_the_command_to_run() -> None:
    with shared_directory() as shared:
        binfmt, confs = _standin(shared, None)
        (binfmt / "register").unlink()  # binfmt_misc is not mounted
        message = as_nobody(lambda: _without_root(binfmt, confs))
    assert "as root: mount -t binfmt_misc binfmt_misc" in message, message


@pytest.mark.root
def test_this_machine_runs_arm64_programs() -> None:
    """The real entry: registered (by this call if needed), with the F flag."""
    try:
        ensure_binfmt("arm64", native_arch=debian_arch(platform.machine()))
    except UnavailableError as e:
        skip_or_fail(str(e))
    entry = (BINFMT_DIR / "qemu-aarch64").read_text()
    assert entry.startswith("enabled")
    assert "F" in entry.split("flags: ")[1].split()[0]
    assert any((d / "qemu-aarch64.conf").is_file() for d in BINFMT_CONF_DIRS)


@pytest.mark.root
@pytest.mark.slow
def test_an_arm64_root_runs_its_python_under_qemu(bookworm_arm64_root: Path) -> None:
    """The interpreter is an AArch64 ELF file (so it can only run emulated here) and reports
    aarch64 from inside."""
    python = read_elf(bookworm_arm64_root / "usr/bin/python3.11")
    assert python.header.machine is Machine.AARCH64
    code = "import platform, os; print(platform.machine(), os.confstr('CS_GNU_LIBC_VERSION'))"
    result = run_in_root(bookworm_arm64_root, ["python3", "-c", code])
    assert result.returncode == 0, result.stderr
    assert result.stdout == "aarch64 glibc 2.36\n"
