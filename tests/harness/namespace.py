"""Running a command inside a Debian root, in a private mount namespace, with a clean environment.

``unshare --mount --fork`` gives the command its own mount namespace (private propagation), in
which /proc is mounted inside the root and each hidden library has /dev/null bind-mounted over
it; then ``chroot`` and ``env -i``. Nothing leaks back to the host's mounts, and none of the host's
environment (notably its ``PIP_*`` variables) leaks into the root.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

__all__ = ["ROOT_PATH", "inside", "resolve_inside", "run_in_root"]

ROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_MAX_SYMLINKS = 40


def inside(root: Path, path: str | PurePosixPath) -> Path:
    """The host path of absolute in-root ``path`` (no symlinks followed)."""
    posix = PurePosixPath(path)
    if not posix.is_absolute():
        raise ValueError(f"path inside the root must be absolute: {path}")
    return root.joinpath(*posix.parts[1:])


def resolve_inside(root: Path, path: str | PurePosixPath) -> PurePosixPath:
    """Resolve symlinks in in-root ``path`` as the root sees them (absolute links stay inside).

    The host would follow an absolute symlink in the root out to the host's own file, so a
    bind mount over the unresolved path could hide the wrong file.
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


def _mount_script(root: Path, hide: Sequence[str]) -> str:
    lines = ["set -e", f"mount -t proc proc {shlex.quote(str(root / 'proc'))}"]
    for path in hide:
        target = inside(root, resolve_inside(root, path))
        if not target.is_file():
            raise FileNotFoundError(f"cannot hide {path}: not a file in {root}")
        lines.append(f"mount --bind /dev/null {shlex.quote(str(target))}")
    lines.append('exec "$@"')
    return "\n".join(lines)


def run_in_root(
    root: Path,
    argv: Sequence[str],
    *,
    hide: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    cwd: str = "/",
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` chrooted into ``root`` and return its result (text, never raises on exit code).

    ``hide`` lists in-root paths of files (libraries) to replace with /dev/null for this run only.
    The environment is exactly ``PATH``, ``HOME=/root``, ``LC_ALL=C.UTF-8`` plus ``env``.
    """
    environment = {"PATH": ROOT_PATH, "HOME": "/root", "LC_ALL": "C.UTF-8", **(env or {})}
    command = [
        "chroot",
        str(root),
        "/usr/bin/env",
        "-i",
        f"--chdir={cwd}",
        *(f"{key}={value}" for key, value in environment.items()),
        *argv,
    ]
    script = _mount_script(root, hide)
    return subprocess.run(
        ["unshare", "--mount", "--fork", "--", "/bin/sh", "-c", script, "sh", *command],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
