"""Debian roots as production code: specs and names, facts read from a root, packing with
overlays, safe removal, and the runner (binds, timeouts, logs, user namespaces) on real roots."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from manywheel.build.roots import (
    SUITES,
    RootSpec,
    RootStore,
    pack_root,
    root_facts,
    unpack_root,
)
from manywheel.build.roots_cache import CacheDirectory, remove_tree
from manywheel.build.roots_errors import UnavailableError
from manywheel.build.roots_run import TIMEOUT_EXIT, Bind, isolation_problems, run_in_root
from tests.harness.availability import skip_or_fail
from tests.harness.nobody import as_nobody, shared_directory


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        (RootSpec("bookworm"), "bookworm"),
        (RootSpec("bookworm", "arm64"), "bookworm-arm64"),
        (RootSpec("sid", packages=("python3.14-venv",)), "sid-with-"),
        (RootSpec("trixie", "arm64", ("gcc",), sources=True), "trixie-arm64-with-"),
    ],
    ids=["base", "arm64", "derived", "derived-arm64"],
)
def test_spec_names(spec: RootSpec, name: str) -> None:
    assert spec.name.startswith(name)
    assert spec.archive_name == f"{spec.name}-v1.tar.zst"
    assert spec.base == RootSpec(spec.suite, spec.arch)


def test_spec_packages_are_a_set() -> None:
    one = RootSpec("bookworm", packages=("gcc", "make", "gcc"))
    assert one.packages == ("gcc", "make")
    assert one == RootSpec("bookworm", packages=("make", "gcc"))
    assert one.name != RootSpec("bookworm", packages=("make", "gcc"), sources=True).name


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"suite": "buster"}, "unknown suite 'buster'"),
        ({"suite": "bookworm", "arch": "x86_64"}, "unknown architecture 'x86_64'"),
        ({"suite": "bookworm", "packages": ("gcc; rm -rf /",)}, "not a Debian package name"),
    ],
    ids=["suite", "arch", "package"],
)
def test_spec_refuses_bad_values(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RootSpec(**kwargs)  # type: ignore[arg-type]


def test_cache_directory_follows_xdg(tmp_path: Path) -> None:
    environ = {"XDG_CACHE_HOME": str(tmp_path)}
    assert CacheDirectory.default(environ, Path("/home/x")).root == tmp_path / "manywheel"
    assert CacheDirectory.default({}, Path("/home/x")).root == Path("/home/x/.cache/manywheel")


STATUS = """\
Package: libc-bin
Version: 2.36-9
Architecture: arm64

Package: libc6
Status: install ok installed
Architecture: arm64
Version: 2.36-9+deb12u4
"""


def test_root_facts_come_from_the_dpkg_database(tmp_path: Path) -> None:
    (tmp_path / "var/lib/dpkg").mkdir(parents=True)
    (tmp_path / "var/lib/dpkg/status").write_text(STATUS)
    (tmp_path / "usr/bin").mkdir(parents=True)
    for name in ("python3.11", "python3.13t", "python3.11-config", "python3.9"):
        (tmp_path / "usr/bin" / name).write_text("")
    (tmp_path / "usr/bin/python3").symlink_to("python3.11")
    facts = root_facts(tmp_path)
    assert (facts.arch, facts.glibc, facts.python) == ("arm64", (2, 36), "3.11")
    assert facts.pythons == ("3.9", "3.11", "3.13t")


def test_root_facts_of_a_non_root(tmp_path: Path) -> None:
    (tmp_path / "var/lib/dpkg").mkdir(parents=True)
    (tmp_path / "var/lib/dpkg/status").write_text("Package: bash\nVersion: 5\n")
    with pytest.raises(ValueError, match="not a Debian root"):
        root_facts(tmp_path)


def test_pack_and_unpack_with_an_overlay(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc/os-release").write_text("base\n")
    (tree / "dev").mkdir()
    (tree / "dev/leftover").write_text("devices are never unpacked\n")
    overlay = tmp_path / "overlay"
    (overlay / "opt/x/bin").mkdir(parents=True)
    (overlay / "opt/x/bin/python").write_text("#!/bin/sh\n")
    pack_root(tree, tmp_path / "base.tar.zst")
    pack_root(overlay, tmp_path / "overlay.tar.zst", members=("opt/x",))
    dest = unpack_root(
        tmp_path / "base.tar.zst", tmp_path / "root", overlays=[tmp_path / "overlay.tar.zst"]
    )
    assert (dest / "etc/os-release").read_text() == "base\n"
    assert (dest / "opt/x/bin/python").is_file()
    assert list((dest / "dev").iterdir()) == []
    with pytest.raises(FileExistsError, match="not empty"):
        unpack_root(tmp_path / "base.tar.zst", dest)


def test_remove_tree_removes_read_only_directories(tmp_path: Path) -> None:
    locked = tmp_path / "root" / "usr" / "locked"
    locked.mkdir(parents=True)
    (locked / "file").write_text("x")
    locked.chmod(0o555)
    (tmp_path / "root").chmod(0o555)
    remove_tree(tmp_path / "root")
    assert not (tmp_path / "root").exists()


_MOUNT_AND_REMOVE = """
import subprocess, sys
from pathlib import Path
from manywheel.build.roots_cache import remove_tree
tree = Path(sys.argv[1])
subprocess.run(["mount", "-t", "tmpfs", "none", str(tree / "proc")], check=True)
(tree / "proc" / "host-file").write_text("must survive")
try:
    remove_tree(tree)
except OSError as e:
    print(e)
print(sorted(p.name for p in (tree / "proc").iterdir()))
"""


@pytest.mark.root
def test_remove_tree_never_deletes_through_a_mount(tmp_path: Path) -> None:
    """What a killed command could leave: a root with something mounted in it."""
    if os.geteuid() != 0:
        skip_or_fail("mounting needs root")
    (tmp_path / "tree/proc").mkdir(parents=True)
    (tmp_path / "tree/etc").mkdir()
    result = subprocess.run(
        [
            "unshare",
            "--mount",
            "--",
            sys.executable,
            "-c",
            _MOUNT_AND_REMOVE,
            str(tmp_path / "tree"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"refusing to delete {tmp_path / 'tree'}" in result.stdout
    assert "['host-file']" in result.stdout
    assert (tmp_path / "tree/etc").is_dir()


@pytest.mark.root
@pytest.mark.slow
def test_binds_are_read_only_unless_writable(bookworm_root: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "in.txt").write_text("from the host\n")
    out = tmp_path / "out"
    out.mkdir()
    script = "cat /data/in.txt; echo x > /data/new 2>/dev/null || echo read-only; echo made > /w/f"
    result = run_in_root(
        bookworm_root,
        ["sh", "-c", script],
        binds=[Bind(data, PurePosixPath("/data")), Bind(out, PurePosixPath("/w"), writable=True)],
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["from the host", "read-only"]
    assert (out / "f").read_text() == "made\n"
    assert not (data / "new").exists()


@pytest.mark.root
@pytest.mark.slow
def test_a_bind_of_a_missing_path_is_refused(bookworm_root: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        run_in_root(bookworm_root, ["true"], binds=[Bind(tmp_path / "missing")])


@pytest.mark.root
@pytest.mark.slow
def test_dev_proc_and_pids_are_the_roots_own(bookworm_root: Path) -> None:
    code = (
        "import os; print(len([p for p in os.listdir('/proc') if p.isdigit()]));"
        "print(sorted(os.listdir('/dev'))); print(len(open('/dev/urandom','rb').read(8)))"
    )
    result = run_in_root(bookworm_root, ["python3", "-c", code])
    assert result.returncode == 0, result.stderr
    processes, devices, random = result.stdout.splitlines()
    assert int(processes) <= 4  # a new PID namespace: sh, chroot's env, python
    for device in ("null", "zero", "urandom", "tty", "shm", "fd"):
        assert f"'{device}'" in devices
    assert random == "8"


@pytest.mark.root
@pytest.mark.slow
def test_timeout_kills_everything_the_command_started(bookworm_root: Path, tmp_path: Path) -> None:
    marker = f"manywheel-sleeper-{os.getpid()}"
    result = run_in_root(
        bookworm_root, ["sh", "-c", f"(exec -a {marker} sleep 300) & sleep 300"], timeout=1
    )
    assert result.returncode == TIMEOUT_EXIT
    assert "did not finish in 1 s" in result.stderr
    left = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True, check=False)
    assert left.stdout == "", "a process of the timed-out command survived"


@pytest.mark.root
@pytest.mark.slow
def test_logs_to_a_path_or_a_file(bookworm_root: Path, tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    log.write_text("earlier run\n")
    result = run_in_root(bookworm_root, ["sh", "-c", "echo out; echo err >&2; exit 3"], log=log)
    assert result.returncode == 3
    assert result.stdout == "out\nerr\n"
    assert log.read_text() == "earlier run\nout\nerr\n"
    with (tmp_path / "other.log").open("wb") as handle:
        handle.write(b"header\n")
        assert run_in_root(bookworm_root, ["echo", "hi"], log=handle).returncode == 0
    assert (tmp_path / "other.log").read_bytes() == b"header\nhi\n"


def _run_bookworm_as_nobody(shared: Path) -> str:
    store = RootStore(CacheDirectory(shared / "cache"), native_arch="amd64")
    lines = [str(isolation_problems(True))]
    with store.scratch("bookworm", base=shared) as root:
        code = "id -u; python3 -c 'import sys; print(sys.version_info[:2])'"
        r = run_in_root(root, ["sh", "-c", code])
        lines.append(f"{r.returncode} {r.stdout.split()} {r.stderr.strip()}")
        r = run_in_root(root, ["apt-get", "-o", "APT::Sandbox::User=root", "check"])
        lines.append(f"{r.returncode} {r.stderr.strip()}")
    return "\n".join(lines)


@pytest.mark.root
@pytest.mark.slow
def test_a_cached_root_runs_without_root(
    bookworm_root: Path, harness_cache: CacheDirectory
) -> None:
    """As nobody: the packed root unpacks (files become nobody's), and a user namespace makes
    nobody root inside it: python and apt's checks run."""
    with shared_directory() as shared:
        (shared / "cache/roots").mkdir(parents=True)
        archive = harness_cache.roots / RootSpec("bookworm").archive_name
        shutil.copy(archive, shared / "cache/roots")
        (shared / "cache").chmod(0o777)
        (shared / "cache/roots").chmod(0o777)
        lines = as_nobody(lambda: _run_bookworm_as_nobody(shared)).splitlines()
    assert lines == ["[]", "0 ['0', '(3,', '11)'] ", "0 "], lines


def test_isolation_problems_name_missing_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert isolation_problems(False)[0].startswith("missing tools: unshare, chroot, mount")


@pytest.mark.root
@pytest.mark.slow
def test_a_derived_root_has_its_packages(root_store: RootStore) -> None:
    spec = RootSpec("bookworm", packages=("musl",))
    with root_store.scratch(spec) as root:
        assert (root / "lib/ld-musl-x86_64.so.1").exists()
        assert (root / "etc/apt/apt.conf.d/99manywheel").is_file()
        assert not list((root / "var/lib/apt/lists").iterdir())
    assert SUITES["bookworm"].glibc == (2, 36)


def _make_trixie(cache: CacheDirectory) -> str:
    try:
        RootStore(cache, native_arch="amd64").archive("trixie")
    except UnavailableError as e:
        return f"{e}\n{sorted(p.name for p in cache.roots.iterdir())}"
    return "made"


def test_making_a_root_without_root_is_unavailable_with_the_reason() -> None:
    with shared_directory() as shared:
        outcome = as_nobody(lambda: _make_trixie(CacheDirectory(shared / "cache")))
    message, leftovers = outcome.splitlines()
    assert message.startswith("making a trixie root needs root (debootstrap creates"), outcome
    assert leftovers == "[]"
