"""Which package installed a file: dpkg's database on this machine against ``dpkg-query -S``;
the other spelling of a merged-/usr path; apk's database in an Alpine-shaped root; no answer
(never an error) where a database or os-release is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from manywheel.repair import PackageOwner, SystemPackages
from manywheel.repair.packages import parse_os_release
from tests.harness.availability import skip_or_fail

LIBDIR = "/usr/lib/x86_64-linux-gnu"


def _dpkg_owner(path: str) -> str:
    out = subprocess.run(["dpkg-query", "-S", path], capture_output=True, text=True, check=True)
    return out.stdout.split(":", 1)[0]


def _listed_path(soname: str) -> str:
    """The spelling dpkg's database uses for the file ``soname`` leads to (``/lib/...`` for
    zlib on Debian 12, ``/usr/lib/...`` on 13)."""
    real = os.path.realpath(f"{LIBDIR}/{soname}")
    for candidate in (real, real.removeprefix("/usr")):
        done = subprocess.run(["dpkg-query", "-S", candidate], capture_output=True, check=False)
        if done.returncode == 0:
            return candidate
    pytest.fail(f"dpkg does not list {real} under either spelling")


@pytest.mark.parametrize("soname", ["libffi.so.8", "libyaml-0.so.2"], ids=["libffi", "libyaml"])
def test_owner_of_a_library_is_dpkgs_answer(soname: str) -> None:
    real = os.path.realpath(f"{LIBDIR}/{soname}")
    (owner,) = SystemPackages().owners([real]).values()
    assert owner.type == "deb" and owner.name == _dpkg_owner(real)
    version = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", owner.name],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert owner.version == version


def test_either_spelling_of_a_merged_usr_path_is_found() -> None:
    """zlib's files are listed under /lib on Debian 12 and /usr/lib on 13; the library's
    resolved path may be either. whichprovides asks dpkg about one spelling only."""
    listed = _listed_path("libz.so.1")
    other = listed.removeprefix("/usr") if listed.startswith("/usr/") else "/usr" + listed
    owners = SystemPackages().owners([listed, other])
    assert {o.name for o in owners.values()} == {_dpkg_owner(listed)}
    assert set(owners) == {listed, other}


def test_unowned_files_are_left_out(tmp_path: Path) -> None:
    lonely = tmp_path / "libnobody.so.1"
    lonely.write_bytes(b"\x7fELF")
    assert SystemPackages().owners([str(lonely)]) == {}


def _alpine_root(root: Path, release: str = 'ID=alpine\nVERSION_ID="3.20.3"\n') -> Path:
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text(release)
    (root / "lib/apk/db").mkdir(parents=True)
    (root / "lib/apk/db/installed").write_text(
        "C:Q1abc=\nP:musl\nV:1.2.5-r0\nA:x86_64\nF:lib\nR:ld-musl-x86_64.so.1\na:0:0:755\n"
        "R:libc.musl-x86_64.so.1\n\n"
        "C:Q1def=\nP:xz-libs\nV:5.6.2-r0\nA:x86_64\nF:usr\nF:usr/lib\nR:liblzma.so.5\n"
        "R:liblzma.so.5.6.2\n\n"
    )
    for name in ("lib/ld-musl-x86_64.so.1", "usr/lib/liblzma.so.5.6.2"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"\x7fELF")
    return root


def test_apk_database_in_a_root(tmp_path: Path) -> None:
    """Read from the root's own database: names with a hyphen stay whole (whichprovides parses
    ``apk info --who-owns`` with a pattern that would split ``xz-libs``)."""
    root = _alpine_root(tmp_path / "alpine")
    owners = SystemPackages(root).owners(
        ["/usr/lib/liblzma.so.5.6.2", "/lib/ld-musl-x86_64.so.1", "/usr/lib/libnone.so"]
    )
    assert owners == {
        "/usr/lib/liblzma.so.5.6.2": PackageOwner("apk", "xz-libs", "5.6.2-r0", "alpine"),
        "/lib/ld-musl-x86_64.so.1": PackageOwner("apk", "musl", "1.2.5-r0", "alpine"),
    }
    assert owners["/usr/lib/liblzma.so.5.6.2"].purl == "pkg:apk/alpine/xz-libs@5.6.2-r0"


def test_without_os_release_nothing_is_named(tmp_path: Path) -> None:
    root = _alpine_root(tmp_path / "alpine")
    (root / "etc/os-release").unlink()
    assert SystemPackages(root).owners(["/usr/lib/liblzma.so.5.6.2"]) == {}


def test_os_release_link_is_followed_inside_the_root(tmp_path: Path) -> None:
    root = _alpine_root(tmp_path / "alpine")
    (root / "etc/os-release").unlink()
    (root / "usr/lib/os-release").write_text("ID=alpine\n")
    (root / "etc/os-release").symlink_to("/usr/lib/os-release")  # absolute: inside the root
    assert SystemPackages(root).distro() == "alpine"


def test_rpm_database_without_rpm_gives_no_answer(tmp_path: Path) -> None:
    root = tmp_path / "alma"
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text('ID="almalinux"\n')
    (root / "var/lib/rpm").mkdir(parents=True)
    (root / "usr/lib64").mkdir(parents=True)
    (root / "usr/lib64/libz.so.1").write_bytes(b"\x7fELF")
    packages = SystemPackages(root, rpm=str(tmp_path / "no-rpm-here"))
    assert packages.owners(["/usr/lib64/libz.so.1"]) == {}


@pytest.mark.parametrize(
    ("owner", "purl"),
    [
        (PackageOwner("deb", "libffi8", "3.4.4-1", "debian"), "pkg:deb/debian/libffi8@3.4.4-1"),
        (PackageOwner("deb", "libc6", "1:2.36-9+deb12u4", "ubuntu"),
         "pkg:deb/ubuntu/libc6@1%3A2.36-9%2Bdeb12u4"),
        (PackageOwner("rpm", "zlib", "1.2.11-40.el9", "almalinux"),
         "pkg:rpm/almalinux/zlib@1.2.11-40.el9"),
        (PackageOwner("apk", "libstdc++", "13.2.1-r0", None), "pkg:apk/libstdc%2B%2B@13.2.1-r0"),
    ],
    ids=["deb", "deb-epoch", "rpm", "apk-no-distro"],
)  # fmt: skip
def test_package_url_spelling(owner: PackageOwner, purl: str) -> None:
    assert owner.purl == purl


def test_os_release_quoting() -> None:
    text = "# comment\nNAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID='12'\nBAD LINE\n"
    assert parse_os_release(text) == {
        "NAME": "Debian GNU/Linux",
        "ID": "debian",
        "VERSION_ID": "12",
    }


SPEC = """Name: libdemo-libs
Version: 1.2
Release: 3.el9
Summary: a library for the rpm database test
License: MIT
BuildArch: noarch
%description
demo
%install
mkdir -p %{buildroot}/usr/lib64
echo demo > %{buildroot}/usr/lib64/libdemo.so.1.2
%files
/usr/lib64/libdemo.so.1.2
"""


def test_rpm_database_in_a_root_is_asked_with_rpm(tmp_path: Path) -> None:
    """A package built with rpmbuild and installed into an AlmaLinux-shaped root with
    ``rpm --root``: ``rpm --root -qf`` names it, with whichprovides's VERSION-RELEASE."""
    if shutil.which("rpm") is None or shutil.which("rpmbuild") is None:
        skip_or_fail("rpm and rpmbuild are not installed (Debian package rpm; scripts/bootstrap)")
    top, root = tmp_path / "top", tmp_path / "alma"
    (top / "SPECS").mkdir(parents=True)
    (top / "SPECS/demo.spec").write_text(SPEC)
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text('ID="almalinux"\n')
    (root / "var/lib/rpm").mkdir(parents=True)
    subprocess.run(
        ["rpmbuild", "--define", f"_topdir {top}", "-bb", str(top / "SPECS/demo.spec")],
        capture_output=True,
        check=True,
    )
    (package,) = (top / "RPMS/noarch").glob("*.rpm")
    subprocess.run(
        ["rpm", "--root", str(root), "-i", "--nodeps", "--noscripts", "--ignoreos", str(package)],
        capture_output=True,
        check=True,
    )
    owners = SystemPackages(root).owners(["/usr/lib64/libdemo.so.1.2", "/usr/lib64/libnone.so"])
    assert owners == {
        "/usr/lib64/libdemo.so.1.2": PackageOwner("rpm", "libdemo-libs", "1.2-3.el9", "almalinux")
    }
    assert owners["/usr/lib64/libdemo.so.1.2"].purl == "pkg:rpm/almalinux/libdemo-libs@1.2-3.el9"


def _merged_usr_root(root: Path) -> Path:
    """``/lib -> usr/lib``; dpkg's database lists libz under /lib and libgone (no file)."""
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text("ID=debian\n")
    (root / "usr/lib").mkdir(parents=True)
    (root / "lib").symlink_to("usr/lib")
    (root / "usr/lib/libz.so.1.3").write_bytes(b"\x7fELF")
    (root / "var/lib/dpkg/info").mkdir(parents=True)
    (root / "var/lib/dpkg/info/zlib1g:amd64.list").write_text("/lib/libz.so.1.3\n")
    (root / "var/lib/dpkg/info/gone:amd64.list").write_text("/lib/libgone.so.1\n")
    (root / "var/lib/dpkg/status").write_text(
        "Package: zlib1g\nArchitecture: amd64\nVersion: 1:1.3\n\n"
        "Package: gone\nArchitecture: amd64\nVersion: 1.0\n\n"
    )
    return root


def test_a_merged_usr_alias_counts_only_for_a_file_that_exists(tmp_path: Path) -> None:
    """/usr/lib/libz.so.1.3 and /lib/libz.so.1.3 are one file: either spelling finds zlib1g.
    /usr/lib/libgone.so.1 exists under neither spelling: "both absent" is not "the same
    file", so the package listing /lib/libgone.so.1 does not own it (commit 6f6e1c7)."""
    root = _merged_usr_root(tmp_path / "root")
    owners = SystemPackages(root).owners(["/usr/lib/libz.so.1.3", "/usr/lib/libgone.so.1"])
    assert owners == {"/usr/lib/libz.so.1.3": PackageOwner("deb", "zlib1g", "1:1.3", "debian")}
