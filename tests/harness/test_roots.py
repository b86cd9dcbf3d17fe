"""Debian roots: the host's mirror, and real roots that are clean and run python."""

from __future__ import annotations

import ctypes.util
import os
import tempfile
from pathlib import Path

import pytest

from tests.harness.availability import Unavailable
from tests.harness.cache import HarnessCache
from tests.harness.namespace import inside, resolve_inside, run_in_root
from tests.harness.roots import (
    RELEASED_SUITES,
    debian_root,
    host_debian_mirror,
    root_archive,
    scratch_base,
)

DEB822 = """\
Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm

Types: deb
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main
"""


def _apt_dir(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "sources.list.d").mkdir()
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"sources.list.d/debian.sources": DEB822}, "http://mirror.example/debian"),
        (
            {
                "sources.list": "# x\ndeb [arch=amd64] http://ftp.example/debian bullseye main\n",
                "sources.list.d/other.list": "deb https://dl.example/linux/ubuntu jammy stable\n",
            },
            "http://ftp.example/debian",
        ),
        ({"sources.list.d/docker.list": "deb https://x.example/ubuntu jammy stable\n"}, None),
        ({}, None),
    ],
    ids=["deb822-skips-security-and-src", "one-line", "not-debian", "none"],
)
def test_host_debian_mirror(tmp_path: Path, files: dict[str, str], expected: str | None) -> None:
    assert host_debian_mirror(_apt_dir(tmp_path, files)) == expected


def test_unknown_suite_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown suite 'buster'"):
        root_archive("buster", cache=HarnessCache(tmp_path))


def _python_facts(root: Path) -> str:
    code = (
        "import os, sys; print(os.confstr('CS_GNU_LIBC_VERSION'), '%d.%d' % sys.version_info[:2])"
    )
    result = run_in_root(root, ["python3", "-c", code])
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.root
@pytest.mark.slow
@pytest.mark.parametrize("suite", sorted(RELEASED_SUITES))
def test_root_has_the_suites_glibc_and_python(suite: str, request: pytest.FixtureRequest) -> None:
    root: Path = request.getfixturevalue(f"{suite}_root")
    expected = RELEASED_SUITES[suite]
    assert expected.glibc is not None
    major, minor = expected.glibc
    assert _python_facts(root) == f"glibc {major}.{minor} {expected.python}"
    ldd = run_in_root(root, ["ldd", "--version"])
    assert f" {major}.{minor}\n" in ldd.stdout.splitlines(keepends=True)[0]


@pytest.mark.root
@pytest.mark.slow
def test_cached_root_unpacks_fresh(
    bookworm_root: Path, harness_cache: HarnessCache, tmp_path: Path
) -> None:
    """The session fixture built or found the archive; another copy unpacked from it is a
    fresh tree. (How long unpacking takes is not asserted: a busy machine made that flaky;
    speed belongs in ``benchmarks/``.)"""
    root = debian_root("bookworm", tmp_path / "copy", cache=harness_cache)
    assert (root / "usr/bin/python3").exists()
    assert not list(inside(root, "/tmp").iterdir()), "a cached root must not carry test debris"
    assert not list(inside(root, "/var/lib/apt/lists").iterdir())
    ca = inside(root, "/etc/ssl/certs/ca-certificates.crt")
    assert ca.read_bytes() == Path("/etc/ssl/certs/ca-certificates.crt").read_bytes()


@pytest.mark.root
@pytest.mark.slow
@pytest.mark.parametrize(
    "library", ["libyaml-0.so.2", "libxml2.so.2", "libpq.so.5", "libjpeg.so.62"]
)
def test_host_libraries_do_not_leak_into_the_root(bookworm_root: Path, library: str) -> None:
    """The host has the library (so the check can fail); inside the root it cannot be loaded."""
    assert ctypes.CDLL(library) is not None  # OSError here means the host lacks it: fix the host
    code = f"import ctypes; ctypes.CDLL({library!r})"
    result = run_in_root(bookworm_root, ["python3", "-c", code])
    assert result.returncode != 0
    assert f"{library}: cannot open shared object file" in result.stderr


@pytest.mark.root
@pytest.mark.slow
def test_hide_makes_a_library_unloadable_for_one_run_only(bookworm_root: Path) -> None:
    libffi = "/usr/lib/x86_64-linux-gnu/libffi.so.8"
    assert run_in_root(bookworm_root, ["python3", "-c", "import ctypes"]).returncode == 0
    hidden = run_in_root(bookworm_root, ["python3", "-c", "import ctypes"], hide=[libffi])
    assert hidden.returncode != 0
    assert "libffi.so.8: file too short" in hidden.stderr
    assert run_in_root(bookworm_root, ["python3", "-c", "import ctypes"]).returncode == 0
    target = str(inside(bookworm_root, resolve_inside(bookworm_root, libffi)))
    assert target not in Path("/proc/self/mountinfo").read_text(), "the bind mount leaked"


@pytest.mark.root
@pytest.mark.slow
def test_hide_refuses_a_path_that_does_not_exist(bookworm_root: Path) -> None:
    with pytest.raises(FileNotFoundError, match="libnothing"):
        run_in_root(bookworm_root, ["true"], hide=["/usr/lib/libnothing.so.1"])


def test_resolve_inside_keeps_absolute_symlinks_in_the_root(tmp_path: Path) -> None:
    (tmp_path / "usr/lib").mkdir(parents=True)
    (tmp_path / "usr/lib/libx.so.1.2").write_bytes(b"")
    (tmp_path / "lib").symlink_to("usr/lib")
    (tmp_path / "usr/lib/libx.so.1").symlink_to("/lib/libx.so.1.2")
    assert str(resolve_inside(tmp_path, "/lib/libx.so.1")) == "/usr/lib/libx.so.1.2"


@pytest.mark.root
@pytest.mark.slow
def test_environment_is_clean_and_cwd_is_honoured(
    bookworm_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "http://host-only.invalid/simple")
    assert os.environ["PIP_INDEX_URL"]
    code = "import os; print(os.getcwd()); print(sorted(os.environ))"
    result = run_in_root(bookworm_root, ["python3", "-c", code], env={"EXTRA": "1"}, cwd="/tmp")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["/tmp", "['EXTRA', 'HOME', 'LC_ALL', 'PATH']"]


def test_scratch_base_falls_back_to_the_temp_dir(tmp_path: Path) -> None:
    assert scratch_base([tmp_path / "missing"]) == Path(tempfile.gettempdir())
    assert scratch_base([tmp_path], min_free=1 << 62) == Path(tempfile.gettempdir())
    assert scratch_base([tmp_path], min_free=0) == tmp_path


def test_building_without_debootstrap_is_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No cached root and no debootstrap: Unavailable (a skip), and no debris in the cache."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    cache = HarnessCache(tmp_path / "cache")
    expected = "needs root" if os.geteuid() != 0 else "needs debootstrap, tar, zstd"
    with pytest.raises(Unavailable, match=expected):
        root_archive("bookworm", cache=cache)
    assert [p.name for p in cache.roots.iterdir()] == []
