"""The pieces of ``manywheel build`` that need no build: zig's wrappers and toolchain files,
project sources (sdists unpacked safely, copies without the wheelhouse), logs' tails,
interpreter probes, the summary table and progress lines."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import tarfile
from collections.abc import Collection
from pathlib import Path, PurePosixPath

import pytest

from manywheel.build import (
    BuildIdentifier,
    BuildOutcome,
    BuildRun,
    Stage,
    Status,
    copy_tree,
    log_tail,
    open_source,
    probe_interpreter,
    write_wrappers,
    zig_target,
)
from manywheel.build.repair_stage import BuildPackages
from manywheel.cli.build_output import BuildProgress, summary_table
from manywheel.cli.context import Context
from manywheel.errors import InputError, ToolError
from manywheel.policy import Libc
from manywheel.repair import PackageOwner
from tests.build.conftest import EXAMPLES


@pytest.mark.parametrize(
    ("arch", "libc", "glibc", "target"),
    [
        ("x86_64", Libc.GLIBC, (2, 17), "x86_64-linux-gnu.2.17"),
        ("aarch64", Libc.GLIBC, (2, 28), "aarch64-linux-gnu.2.28"),
        ("i686", Libc.GLIBC, (2, 17), "x86-linux-gnu.2.17"),
        ("armv7l", Libc.GLIBC, (2, 17), "arm-linux-gnueabihf.2.17"),
        ("x86_64", Libc.MUSL, None, "x86_64-linux-musl"),
    ],
)
def test_zig_target(arch: str, libc: Libc, glibc: tuple[int, int] | None, target: str) -> None:
    assert zig_target(arch, libc, glibc) == target


def _wrappers(tmp_path: Path, libc: Libc, system: bool) -> tuple[str, dict[str, str]]:
    wrappers = write_wrappers(
        tmp_path,
        inside=PurePosixPath("/in/toolchain"),
        zig=PurePosixPath("/opt/zig/zig"),
        zig_cache=PurePosixPath("/cache/zig"),
        target=zig_target("x86_64", libc, (2, 17) if libc is Libc.GLIBC else None),
        arch="x86_64",
        libc=libc,
        prefix=PurePosixPath("/prefix"),
        system_libraries=system,
    )
    cc = (tmp_path / "bin" / "cc").read_text()
    assert (tmp_path / "bin" / "cc").stat().st_mode & stat.S_IXUSR
    return cc, dict(wrappers.variables)


def test_glibc_wrapper_puts_the_system_after_zig(tmp_path: Path) -> None:
    cc, variables = _wrappers(tmp_path, Libc.GLIBC, system=True)
    command = cc.splitlines()[-1]
    assert command.startswith('exec /opt/zig/zig cc -target x86_64-linux-gnu.2.17 "$@"')
    after = command.split('"$@"', 1)[1]
    assert "-I/prefix/include -L/prefix/lib" in after
    assert "-idirafter /usr/include/x86_64-linux-gnu -idirafter /usr/include" in after
    assert "-L/usr/lib/x86_64-linux-gnu" in after
    assert "ZIG_GLOBAL_CACHE_DIR=/cache/zig" in cc
    assert variables["CC"] == "/in/toolchain/bin/cc"
    assert variables["LDSHARED"] == "/in/toolchain/bin/cc -shared"
    assert variables["CMAKE_TOOLCHAIN_FILE"] == "/in/toolchain/toolchain.cmake"
    assert variables["MANYWHEEL_HOST"] == "x86_64-linux-gnu"
    toolchain = (tmp_path / "toolchain.cmake").read_text()
    assert 'set(CMAKE_CXX_COMPILER "/in/toolchain/bin/c++")' in toolchain
    native = (tmp_path / "meson-native.ini").read_text()
    assert "c = '/in/toolchain/bin/cc'" in native
    assert "pkg_config_libdir" not in native  # the system's .pc files count (zlib.pc)


def test_musl_wrapper_never_sees_the_glibc_system(tmp_path: Path) -> None:
    cc, variables = _wrappers(tmp_path, Libc.MUSL, system=True)
    assert "-target x86_64-linux-musl" in cc
    assert "/usr/include" not in cc
    assert "/usr/lib" not in cc
    assert variables["MANYWHEEL_HOST"] == "x86_64-linux-musl"
    native = (tmp_path / "meson-native.ini").read_text()
    assert "pkg_config_libdir = ['/prefix/lib/pkgconfig']" in native


def _tar(path: Path, members: dict[str, bytes], *, link: str | None = None) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        if link is not None:
            info = tarfile.TarInfo("pkg-1.0/evil")
            info.type = tarfile.SYMTYPE
            info.linkname = link
            archive.addfile(info)
    return path


def test_sdist_is_unpacked_and_described(tmp_path: Path) -> None:
    pyproject = (
        b'[project]\nname="pkg"\nrequires-python=">=3.9"\n[build-system]\nbuild-backend="mesonpy"\n'
    )
    sdist = _tar(tmp_path / "pkg-1.0.tar.gz", {"pkg-1.0/pyproject.toml": pyproject})
    source = open_source(sdist, tmp_path / "unpacked")
    assert source.tree == tmp_path / "unpacked" / "pkg-1.0"
    assert str(source.requires_python) == ">=3.9"
    assert source.backend == "mesonpy"


@pytest.mark.parametrize(
    ("members", "link", "message"),
    [
        ({"pkg-1.0/../../escape": b"x"}, None, "unsafe path"),
        ({"pkg-1.0/setup.py": b""}, "/etc/passwd", "unsafe link or special file"),
        ({"a/setup.py": b"", "b/setup.py": b""}, None, "exactly one top directory"),
        ({"pkg-1.0/README": b""}, None, "not a Python project"),
    ],
    ids=["traversal", "symlink", "two-tops", "not-a-project"],
)
def test_bad_sdists_are_refused(
    tmp_path: Path, members: dict[str, bytes], link: str | None, message: str
) -> None:
    sdist = _tar(tmp_path / "pkg-1.0.tar.gz", members, link=link)
    with pytest.raises(InputError, match=message):
        open_source(sdist, tmp_path / "unpacked")
    assert not (tmp_path / "escape").exists()


def test_a_broken_pyproject_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\n")
    with pytest.raises(InputError, match=r"not a valid pyproject\.toml"):
        open_source(tmp_path, tmp_path / "unused")


def test_copy_leaves_out_the_wheelhouse_caches_and_venvs(tmp_path: Path) -> None:
    project = tmp_path / "project"
    for relative in ("src/a.py", "wheelhouse/x.whl", "src/__pycache__/a.pyc", ".venv/pyvenv.cfg"):
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_text("x")
    copy_tree(project, tmp_path / "copy", exclude=(project / "wheelhouse",))
    copied = sorted(str(p.relative_to(tmp_path / "copy")) for p in (tmp_path / "copy").rglob("*"))
    assert copied == ["src", "src/a.py"]


def test_log_tail_keeps_the_last_non_empty_lines(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_bytes(b"".join(f"line {i}\n\n".encode() for i in range(100)) + b"\xff last\r\n")
    assert log_tail(log, 3) == ("line 98", "line 99", "\ufffd last")
    assert log_tail(tmp_path / "missing.log") == ()


def test_probe_refuses_what_cannot_build(tmp_path: Path) -> None:
    assert "cannot run it" in str(probe_interpreter(str(tmp_path / "none"), "--python"))
    assert "not understood" in str(probe_interpreter("/bin/true", "--python"))
    python2 = Path.home() / ".pyenv/versions/2.7.18/bin/python"
    if python2.exists():
        assert "Python 3 only" in str(probe_interpreter(str(python2), "pyenv"))


def _run(tmp_path: Path) -> BuildRun:
    from manywheel.build import ProjectSource

    ok = BuildIdentifier.parse("cp311-manylinux_x86_64")
    bad = BuildIdentifier.parse("cp312-manylinux_x86_64")
    wheel = tmp_path / "pkg-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    outcomes = (
        BuildOutcome(ok, Status.BUILT, 3.25, wheel=wheel, size=2048),
        BuildOutcome(
            bad,
            Status.FAILED,
            1.5,
            stage=Stage.BUILD,
            error="the PEP 517 build failed (exit status 1)",
            log=tmp_path / "cp312.log",
            log_tail=("error: boom",),
        ),
    )
    source = ProjectSource(EXAMPLES / "demo", EXAMPLES / "demo", None, "setuptools")
    return BuildRun(outcomes, "zig", source, tmp_path / "wh", tmp_path / "logs")


def test_summary_table(tmp_path: Path) -> None:
    lines = summary_table(_run(tmp_path)).splitlines()
    assert lines[0].split() == ["identifier", "wheel", "tag", "size", "seconds", "status"]
    assert lines[1].split() == [
        "cp311-manylinux_x86_64",
        "pkg-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        "manylinux_2_17_x86_64",
        "2",
        "KiB",
        "3.2",
        "built",
    ]
    assert lines[2].split()[-2:] == ["failed", "(build)"]
    # each failure under the table, with the last lines of its output
    assert lines[3:7] == [
        "",
        "cp312-manylinux_x86_64 in build: the PEP 517 build failed (exit status 1)",
        "    | error: boom",
        "",
    ]
    assert lines[7] == f"1 of 2 built into {tmp_path / 'wh'}; logs in {tmp_path / 'logs'}"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_lines_and_failure_tail(tmp_path: Path) -> None:
    stream = _Terminal()
    ctx = Context(stdout=io.StringIO(), stderr=stream, environ={}, verbosity=0, color=False)
    with BuildProgress(ctx, total=2, live=True) as progress:
        progress.stage("cp311-manylinux_x86_64", Stage.BUILD)
        for outcome in _run(tmp_path).outcomes:
            progress.finished(outcome)
    text = stream.getvalue()
    assert "built cp311-manylinux_x86_64: pkg-1.0-cp311-cp311-manylinux_2_17_x86_64.whl" in text
    assert "failed cp312-manylinux_x86_64 in build: the PEP 517 build failed" in text
    assert "    | error: boom" in text
    assert f"    log: {tmp_path / 'cp312.log'}" in text
    assert "\r\x1b[K[0/2] cp311-manylinux_x86_64 (build, 0 s)" in text


class _Recording:
    """A package index that owns everything it is asked about, and remembers the question."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def owners(self, paths: Collection[str]) -> dict[str, PackageOwner]:
        self.asked.append(sorted(paths))
        owner = PackageOwner(type="deb", name="libfoo1", version="1.0", distro="debian")
        return dict.fromkeys(paths, owner)


def test_the_prefix_is_never_looked_up_in_the_package_databases() -> None:
    system = _Recording()
    packages = BuildPackages(system, ("/tmp/run/prefix/lib", "/tmp/run/prefix/lib64/"))
    assert packages.owners(["/tmp/run/prefix/lib/libdemo.so.1"]) == {}
    assert system.asked == []
    owned = packages.owners(["/tmp/run/prefix/lib/libdemo.so.1", "/usr/lib/libyaml.so.0"])
    assert list(owned) == ["/usr/lib/libyaml.so.0"]
    assert system.asked == [["/usr/lib/libyaml.so.0"]]
    assert packages.owners(["/tmp/run/prefix/library/libx.so"]) != {}  # not the same directory


@pytest.mark.network
def test_a_tool_that_cannot_be_fetched_is_a_tool_error(tmp_path: Path) -> None:
    """A missing compiler: zig cannot be had (a release the index does not have) is one
    ToolError naming it (exit 4), and nothing is left half-made in the cache."""
    from manywheel.build import CacheDirectory, fetch_zig

    cache = CacheDirectory(tmp_path / "cache")
    log_path = tmp_path / "fetch.log"
    with (
        log_path.open("wb") as log,
        pytest.raises(ToolError, match=r"pip could not download ziglang==0\.0\.1 \(see the log\)"),
    ):
        pip = [sys.executable, "-m", "pip"]
        fetch_zig(cache, pip=pip, environ=dict(os.environ), log=log, version="0.0.1")
    assert "ziglang==0.0.1" in log_path.read_text()
    assert list((tmp_path / "cache" / "toolchains").iterdir()) == []


def test_every_public_name_loads_and_the_package_imports_little() -> None:
    """``manywheel.build`` loads its names on first use: each one exists, and importing the
    package (as the CLI's start-up does) imports neither the audit nor the repair."""
    import manywheel.build

    missing = [n for n in manywheel.build.__all__ if getattr(manywheel.build, n, None) is None]
    assert missing == []
    heavy = "{'manywheel.audit', 'manywheel.repair'}"
    code = f"import sys, manywheel.build; print(sorted(m for m in sys.modules if m in {heavy}))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
