"""Package databases that cannot be read as they should: a root whose links lead out of it, a
device, a FIFO, a directory or a dangling link where a file should be, text that is not UTF-8, an
rpm that never answers. Never an exception and never the host's packages: the path and the
reason logged once as a warning, and the lookup goes on with what can be read."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import pytest

from manywheel.audit import AuditOptions
from manywheel.repair import ElfPatcher, PackageOwner, RepairRequest, SystemPackages, repair_wheel
from tests.harness.availability import skip_or_fail
from tests.harness.fifo import fifo_never_opened
from tests.repair.natives import Natives

LIB = "/usr/lib/libx.so.1"
LOGGER = "manywheel.repair.packages"


def _debian_root(root: Path) -> Path:
    """A root where ``good`` owns /usr/lib/libx.so.1 and ``bad`` is whatever a test makes it."""
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text("ID=debian\n")
    (root / "usr/lib").mkdir(parents=True)
    (root / LIB.lstrip("/")).write_bytes(b"\x7fELF")
    info = root / "var/lib/dpkg/info"
    info.mkdir(parents=True)
    (info / "good:amd64.list").write_text(f"/usr/lib\n{LIB}\n")
    (root / "var/lib/dpkg/status").write_text(
        "Package: good\nArchitecture: amd64\nVersion: 1.0-1\n\n"
    )
    return root


def _directory_list(root: Path) -> str:
    (root / "var/lib/dpkg/info/bad.list").mkdir()
    return "bad.list"


def _dangling_list(root: Path) -> str:
    (root / "var/lib/dpkg/info/bad.list").symlink_to("/nowhere/bad.list")
    return "bad.list"


def _escaping_list(root: Path) -> str:
    """A link to an absolute path that exists on the host: inside the root it does not."""
    (root / "var/lib/dpkg/info/bad.list").symlink_to("/etc/passwd")
    return "bad.list"


def _device_list(root: Path) -> str:
    (root / "var/lib/dpkg/info/bad.list").symlink_to("/dev/zero")
    (root / "dev").mkdir()
    os.mknod(root / "dev/zero", 0o600 | 0o020000, os.makedev(1, 5))  # as root: the real device
    return "bad.list"


@pytest.mark.parametrize(
    "make",
    [_directory_list, _dangling_list, _escaping_list, _device_list],
    ids=["directory", "dangling-link", "link-out-of-the-root", "device"],
)
def test_a_bad_list_file_is_a_warning_and_the_others_still_answer(
    make: Callable[[Path], str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if make is _device_list and os.geteuid() != 0:
        skip_or_fail("making a device node needs root (CI runs as root)")
    root = _debian_root(tmp_path / "root")
    bad = make(root)
    with caplog.at_level(logging.WARNING, LOGGER):
        owners = SystemPackages(root).owners([LIB])
    assert owners == {LIB: PackageOwner("deb", "good", "1.0-1", "debian")}
    (record,) = caplog.records
    assert record.getMessage().startswith(
        f"SBOM may be incomplete: {root}/var/lib/dpkg/info/{bad}: "
    )


def _status_device(root: Path) -> None:
    status = root / "var/lib/dpkg/status"
    status.unlink()
    status.symlink_to("/dev/zero")  # the host's /dev/zero: not inside the root


def _status_fifo(root: Path) -> None:
    status = root / "var/lib/dpkg/status"
    status.unlink()
    os.mkfifo(status)


def _status_directory(root: Path) -> None:
    status = root / "var/lib/dpkg/status"
    status.unlink()
    status.mkdir()


def _status_missing(root: Path) -> None:
    (root / "var/lib/dpkg/status").unlink()


@pytest.mark.parametrize(
    "make",
    [_status_device, _status_fifo, _status_directory, _status_missing],
    ids=["link-to-dev-zero", "fifo", "directory", "missing"],
)
def test_a_bad_status_file_is_a_warning_not_a_hang_or_a_crash(
    make: Callable[[Path], None], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = _debian_root(tmp_path / "root")
    make(root)
    status = root / "var/lib/dpkg/status"
    fifo: AbstractContextManager[None] = (
        fifo_never_opened(status) if status.is_fifo() else nullcontext()
    )
    with fifo, caplog.at_level(logging.WARNING, LOGGER):
        assert SystemPackages(root).owners([LIB]) == {}
    (record,) = caplog.records
    assert record.getMessage().startswith(f"SBOM may be incomplete: {root}/var/lib/dpkg/status: ")


def test_a_database_directory_linked_to_the_hosts_is_the_roots(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``var/lib/dpkg -> /var/lib/dpkg`` inside a root is that root's own path (a loop here),
    never this machine's database: the host's libffi is not named."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text("ID=evil\n")
    (root / "var/lib").mkdir(parents=True)
    (root / "var/lib/dpkg").symlink_to("/var/lib/dpkg")
    real = os.path.realpath("/usr/lib/x86_64-linux-gnu/libffi.so.8")
    assert SystemPackages().owners([real])  # this machine's dpkg knows it
    with caplog.at_level(logging.WARNING, LOGGER):
        assert SystemPackages(root).owners([real]) == {}
    assert [r.getMessage().split(": ")[1] for r in caplog.records] == [f"{root}/var/lib/dpkg/info"]


def test_a_relative_link_inside_the_root_is_followed(tmp_path: Path) -> None:
    root = _debian_root(tmp_path / "root")
    (root / "srv").mkdir()
    (root / "var/lib/dpkg").rename(root / "srv/dpkg")
    (root / "var/lib/dpkg").symlink_to("../../srv/dpkg")
    assert SystemPackages(root).owners([LIB]) == {
        LIB: PackageOwner("deb", "good", "1.0-1", "debian")
    }


def test_each_bad_file_is_warned_about_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = _debian_root(tmp_path / "root")
    _dangling_list(root)
    packages = SystemPackages(root)
    with caplog.at_level(logging.WARNING, LOGGER):
        packages.owners([LIB])
        packages.owners([LIB])
    assert len(caplog.records) == 1


def test_non_utf8_package_names_give_a_package_url(tmp_path: Path) -> None:
    """apk's and dpkg's bytes that are not UTF-8 are replaced (U+FFFD), never an error."""
    alpine = tmp_path / "alpine"
    (alpine / "etc").mkdir(parents=True)
    (alpine / "etc/os-release").write_text("ID=alpine\n")
    (alpine / "lib/apk/db").mkdir(parents=True)
    (alpine / "lib/apk/db/installed").write_bytes(
        b"P:caf\xe9\nV:1.0-r\xff0\nF:usr/lib\nR:libx.so\n"
    )
    (owner,) = SystemPackages(alpine).owners(["/usr/lib/libx.so"]).values()
    assert owner.purl == "pkg:apk/alpine/caf%EF%BF%BD@1.0-r%EF%BF%BD0"

    debian = _debian_root(tmp_path / "debian")
    (debian / "var/lib/dpkg/info/good:amd64.list").rename(
        debian / "var/lib/dpkg/info" / os.fsdecode(b"caf\xe9.list")
    )
    (debian / "var/lib/dpkg/status").write_bytes(b"Package: caf\xe9\nVersion: 1\xff\n\n")
    (owner,) = SystemPackages(debian).owners([LIB]).values()
    assert owner.purl == "pkg:deb/debian/caf%EF%BF%BD@1%EF%BF%BD"


def _alma_root(root: Path) -> Path:
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text('ID="almalinux"\n')
    (root / "var/lib/rpm").mkdir(parents=True)
    (root / "usr/lib64").mkdir(parents=True)
    (root / "usr/lib64/libz.so.1").write_bytes(b"\x7fELF")
    return root


def _fake_rpm(directory: Path, body: str) -> Path:
    directory.mkdir()
    rpm = directory / "rpm"
    rpm.write_text(f"#!/bin/sh\n{body}\n")
    rpm.chmod(0o755)
    return directory


def test_rpm_is_found_on_the_path_given(tmp_path: Path) -> None:
    """``rpm`` comes from the PATH the CLI passes down, not the process's; its output is
    bytes, and what is not UTF-8 is replaced."""
    root = _alma_root(tmp_path / "alma")
    bin_dir = _fake_rpm(tmp_path / "bin", r"printf 'zlib 1.2.11 40.el\377\n'")
    owners = SystemPackages(root, path=str(bin_dir)).owners(["/usr/lib64/libz.so.1"])
    assert owners == {
        "/usr/lib64/libz.so.1": PackageOwner("rpm", "zlib", "1.2.11-40.el\ufffd", "almalinux")
    }
    assert SystemPackages(root, path=str(tmp_path / "empty")).owners(["/usr/lib64/libz.so.1"]) == {}


def test_an_rpm_that_does_not_answer_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A locked rpm database makes rpm wait: after the timeout, a warning and no rpm answer."""
    root = _alma_root(tmp_path / "alma")
    bin_dir = _fake_rpm(tmp_path / "bin", "exec sleep 3600")  # waiting for it would hang
    packages = SystemPackages(root, path=str(bin_dir), rpm_timeout=0.3)
    with caplog.at_level(logging.WARNING, LOGGER):
        assert packages.owners(["/usr/lib64/libz.so.1", "/usr/lib64/libm.so.6"]) == {}
    (record,) = caplog.records
    assert record.getMessage() == (
        f"SBOM may be incomplete: {bin_dir}/rpm: no answer within 0.3 s (database locked?)"
    )


def test_a_bad_database_never_fails_the_repair(
    natives: Natives,
    patcher: ElfPatcher,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A real repair whose package index is a root with a directory for a ``.list``, a
    dangling ``.list`` and a FIFO for ``status``: written, warned about, no SBOM."""
    root = _debian_root(tmp_path / "root")
    _directory_list(root)
    (root / "var/lib/dpkg/info/other.list").symlink_to("/nowhere")
    _status_fifo(root)
    real = os.path.realpath("/usr/lib/x86_64-linux-gnu/libffi.so.8")
    (root / "var/lib/dpkg/info/good:amd64.list").write_text(  # either merged-/usr spelling
        f"{real}\n{real.removeprefix('/usr')}\n"
    )
    ext = natives.extension(
        "badsbom", "(void)&ffi_type_sint;", ["-lffi"], body="#include <ffi.h>",
        extra=["-Wl,--no-as-needed"],
    )  # fmt: skip
    wheel = natives.wheel("badsbom", {"badsbom.so": ext})
    with caplog.at_level(logging.WARNING, LOGGER):
        result = repair_wheel(
            wheel,
            tmp_path / "out",
            RepairRequest(
                patcher=patcher,
                audit=AuditOptions(extra_ldpaths=(str(natives.libdir),)),
                packages=SystemPackages(root),
            ),
        )
    assert result.output.is_file() and result.sbom is None
    assert sorted(r.getMessage().split(": ")[1] for r in caplog.records) == [
        f"{root}/var/lib/dpkg/info/bad.list",
        f"{root}/var/lib/dpkg/info/other.list",
        f"{root}/var/lib/dpkg/status",
    ]
