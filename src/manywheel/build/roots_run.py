"""Running a command inside a root: private namespaces, chroot, a clean environment, bind mounts.

``unshare`` gives the command its own mount and PID namespaces (and, when not root, a user
namespace in which the caller is root). Inside them a shell mounts ``/proc``, a small ``/dev``
(a tmpfs with the host's null, zero, full, random, urandom and tty bound in), the requested bind
mounts (read-only unless asked), and ``/dev/null`` over each hidden file; then ``chroot`` and
``env -i``. Nothing is mounted on the host, every mount vanishes with the command, and none of the
host's environment (notably its ``PIP_*`` variables) leaks into the root.

As root this is ``unshare --mount --pid``; otherwise ``unshare --user --map-root-user --mount
--pid``, which works on kernels that allow unprivileged user namespaces (Debian's do). There the
caller is root inside but only its own uid exists: programs that switch to another user (apt's
download sandbox, dpkg's ``chown`` to system users) fail unless told not to.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from manywheel.values import value_class

__all__ = [
    "ROOT_PATH",
    "Bind",
    "inside",
    "isolation_problems",
    "resolve_inside",
    "run_in_root",
]

ROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
TIMEOUT_EXIT = 124  # what timeout(1) returns: the command did not finish in time
_DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
_MAX_SYMLINKS = 40
_TAIL_BYTES = 64 << 10


@value_class
class Bind:
    """Host path ``source`` seen at absolute ``target`` inside the root (read-only unless
    ``writable``). ``target`` defaults to the same path as on the host."""

    source: Path
    target: PurePosixPath | None = None
    writable: bool = False

    @property
    def inside(self) -> PurePosixPath:
        return self.target or PurePosixPath(self.source.absolute())


def inside(root: Path, path: str | PurePosixPath) -> Path:
    """The host path of absolute in-root ``path`` (no symlinks followed)."""
    posix = PurePosixPath(path)
    if not posix.is_absolute():
        raise ValueError(f"path inside the root must be absolute: {path}")
    return root.joinpath(*posix.parts[1:])


def resolve_inside(root: Path, path: str | PurePosixPath) -> PurePosixPath:
    """Resolve symlinks in in-root ``path`` as the root sees them (absolute links stay inside).

    The host would follow an absolute symlink in the root out to the host's own file, so a
    mount over the unresolved path could cover a host file.
    """
    parts = list(PurePosixPath(path).parts[1:])
    resolved = PurePosixPath("/")
    hops = 0
    while parts:
        part = parts.pop(0)
        if part in {"", "."}:
            continue
        if part == "..":
            resolved = resolved.parent
            continue
        candidate = resolved / part
        host = inside(root, candidate)
        if host.is_symlink():
            hops += 1
            if hops > _MAX_SYMLINKS:
                raise OSError(f"too many symlinks resolving {path} in {root}")
            target = PurePosixPath(host.readlink())
            parts = list(target.parts[1:] if target.is_absolute() else target.parts) + parts
            if target.is_absolute():
                resolved = PurePosixPath("/")
            continue
        resolved = candidate
    return resolved


def _q(path: Path | str) -> str:
    return shlex.quote(str(path))


def _device_lines(root: Path) -> list[str]:
    dev = root / "dev"
    lines = [
        f"mkdir -p {_q(root / 'proc')} {_q(dev)}",
        f"mount -t proc proc {_q(root / 'proc')}",
        f"mount -t tmpfs -o mode=0755 dev {_q(dev)}",
        f"mkdir {_q(dev / 'shm')} {_q(dev / 'pts')}",
        f"mount -t tmpfs -o mode=1777 shm {_q(dev / 'shm')}",
    ]
    lines += [f": > {_q(dev / d)}; mount --bind /dev/{d} {_q(dev / d)}" for d in _DEVICES]
    # Terminals of its own (apt logs through one); not every kernel allows it in a namespace.
    pts = f"mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts {_q(dev / 'pts')}"
    lines.append(f"{pts} 2>/dev/null && ln -s pts/ptmx {_q(dev / 'ptmx')} || true")
    links = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1"}
    links["stderr"] = "/proc/self/fd/2"
    lines += [f"ln -s {target} {_q(dev / name)}" for name, target in links.items()]
    return lines


def _bind_lines(root: Path, bind: Bind) -> list[str]:
    source = bind.source.absolute()
    if not source.exists():
        raise FileNotFoundError(f"cannot bind {source} into the root: it does not exist")
    target = inside(root, resolve_inside(root, bind.inside))
    if source.is_dir():
        lines = [f"mkdir -p {_q(target)}"]
    else:
        lines = [f"mkdir -p {_q(target.parent)}", f"[ -e {_q(target)} ] || : > {_q(target)}"]
    lines.append(f"mount --rbind {_q(source)} {_q(target)}")
    if not bind.writable:
        # A user namespace may not clear the nosuid/nodev/noexec flags the source's mount has,
        # and mount(8) of Debian 12 clears what it is not told: try the likely sets in turn.
        attempts = ["ro", "ro,nosuid,nodev", "ro,nosuid,nodev,noexec"]
        lines.append(
            " || ".join(
                f"mount -o remount,bind,{a} {_q(target)} 2>/dev/null" for a in attempts[:-1]
            )
            + f" || mount -o remount,bind,{attempts[-1]} {_q(target)}"
        )
    return lines


def _hide_lines(root: Path, path: str) -> list[str]:
    target = inside(root, resolve_inside(root, path))
    if not target.is_file():
        raise FileNotFoundError(f"cannot hide {path}: not a file in {root}")
    return [f"mount --bind /dev/null {_q(target)}"]


def _script(root: Path, binds: Sequence[Bind], hide: Sequence[str]) -> str:
    lines = ["set -e", *_device_lines(root)]
    for bind in binds:
        lines += _bind_lines(root, bind)
    for path in hide:
        lines += _hide_lines(root, path)
    # Not exec: the shell stays PID 1 of the namespace, so the command gets ordinary signal
    # handling, and when the shell is killed the kernel kills everything left in the namespace.
    lines.append('"$@"')
    return "\n".join(lines)


def namespace_command(user_namespace: bool) -> list[str]:
    """The ``unshare`` prefix of every run: new mount and PID namespaces (and a user namespace
    mapping the caller to root, when asked); its child dies with it."""
    user = ["--user", "--map-root-user"] if user_namespace else []
    return ["unshare", *user, "--mount", "--pid", "--fork", "--kill-child", "--"]


def run_in_root(
    root: Path,
    argv: Sequence[str],
    *,
    binds: Sequence[Bind] = (),
    hide: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    cwd: str = "/",
    timeout: float | None = 600,
    log: Path | BinaryIO | None = None,
    user_namespace: bool | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` chrooted into ``root`` and return its result (never raises on exit code).

    The environment is exactly ``PATH``, ``HOME=/root``, ``LC_ALL=C.UTF-8`` plus ``env``.
    ``hide`` lists in-root files (libraries) covered with /dev/null for this run only. With
    ``log`` (a path or a binary file open for writing), stdout and stderr go there; for a path
    the result's ``stdout`` holds the end of what this run appended. A run past ``timeout``
    seconds is killed with everything it started and returns exit status 124.
    ``user_namespace`` defaults to "when not root".
    """
    if user_namespace is None:
        user_namespace = os.geteuid() != 0
    environment = {"PATH": ROOT_PATH, "HOME": "/root", "LC_ALL": "C.UTF-8", **(env or {})}
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    command = [
        chroot,
        str(root),
        "/usr/bin/env",
        "-i",
        f"--chdir={cwd}",
        *(f"{key}={value}" for key, value in environment.items()),
        *argv,
    ]
    full = [
        *namespace_command(user_namespace),
        "/bin/sh",
        "-c",
        _script(root, binds, hide),
        "sh",
        *command,
    ]
    if log is None:
        return _run_captured(full, timeout)
    if not isinstance(log, Path):
        log.flush()
        return subprocess.CompletedProcess(full, _run_to(full, timeout, log), "", "")
    return _run_logged(full, timeout, log)


def _timed_out(timeout: float | None) -> str:
    return f"\n[manywheel] killed: the command did not finish in {timeout:.0f} s\n"


def _run_captured(argv: list[str], timeout: float | None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            argv, capture_output=True, text=True, errors="replace", check=False, timeout=timeout
        )
    except subprocess.TimeoutExpired as e:
        out = _text(e.stdout)
        err = _text(e.stderr) + _timed_out(timeout)
        return subprocess.CompletedProcess(argv, TIMEOUT_EXIT, out, err)


def _run_to(argv: list[str], timeout: float | None, handle: BinaryIO) -> int:
    try:
        return subprocess.run(
            argv, stdout=handle, stderr=subprocess.STDOUT, check=False, timeout=timeout
        ).returncode
    except subprocess.TimeoutExpired:
        handle.write(_timed_out(timeout).encode())
        handle.flush()
        return TIMEOUT_EXIT


def _run_logged(
    argv: list[str], timeout: float | None, log: Path
) -> subprocess.CompletedProcess[str]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as handle:
        start = handle.tell()
        code = _run_to(argv, timeout, handle)
    with log.open("rb") as handle:
        handle.seek(max(start, log.stat().st_size - _TAIL_BYTES))
        tail = handle.read().decode("utf-8", "replace")
    return subprocess.CompletedProcess(argv, code, tail, "")


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode("utf-8", "replace")


def isolation_problems(user_namespace: bool, tools: Sequence[str] = ()) -> list[str]:
    """Why :func:`run_in_root` cannot work here; empty when it can. Really creates the
    namespaces: being root is not enough inside some containers, and kernels can forbid user
    namespaces."""
    missing = [t for t in ("unshare", "chroot", "mount", *tools) if shutil.which(t) is None]
    if missing:
        return [f"missing tools: {', '.join(missing)} (apt-get install util-linux coreutils)"]
    if not user_namespace and os.geteuid() != 0:
        return ["not running as root (chroot and mount namespaces need it)"]
    probe = subprocess.run(
        [*namespace_command(user_namespace), "true"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        kind = "user and mount namespaces" if user_namespace else "mount namespaces"
        return [f"cannot create {kind}: {probe.stderr.strip()}"]
    return []
