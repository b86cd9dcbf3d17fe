"""Running other architectures' programs on this machine: qemu-user-static through binfmt_misc.

The kernel hands an ELF file of a foreign architecture to the interpreter registered for its
header bytes in ``/proc/sys/fs/binfmt_misc``. Debian's ``qemu-user-static`` ships one entry per
architecture in ``/usr/lib/binfmt.d`` with the ``F`` (fix binary) flag, which makes the kernel
open the interpreter when the entry is registered, so it works inside any chroot without copying
qemu into the root. :func:`ensure_binfmt` registers the entry when it is missing (as root,
mounting binfmt_misc first if needed) and otherwise says exactly what is missing.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from manywheel.build.roots_errors import UnavailableError
from manywheel.values import value_class

__all__ = ["ARCHITECTURES", "Architecture", "debian_arch", "ensure_binfmt", "needs_emulation"]

BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
BINFMT_CONF_DIRS = (Path("/usr/lib/binfmt.d"), Path("/etc/binfmt.d"))


@value_class
class Architecture:
    """One architecture by its three names: Debian's, the kernel's/wheel tag's, and qemu's."""

    debian: str
    machine: str
    qemu: str


ARCHITECTURES: Mapping[str, Architecture] = {
    a.debian: a
    for a in (
        Architecture("amd64", "x86_64", "x86_64"),
        Architecture("arm64", "aarch64", "aarch64"),
        Architecture("armhf", "armv7l", "arm"),
        Architecture("i386", "i686", "i386"),
        Architecture("ppc64el", "ppc64le", "ppc64le"),
        Architecture("s390x", "s390x", "s390x"),
        Architecture("riscv64", "riscv64", "riscv64"),
    )
}

# Architectures a machine runs without emulation besides its own.
_NATIVE_ALSO = {"amd64": {"i386"}, "arm64": {"armhf"}}


def debian_arch(machine: str) -> str:
    """``x86_64`` (a wheel tag's or ``uname -m``'s name) -> ``amd64``; Debian names pass through."""
    for arch in ARCHITECTURES.values():
        if machine in {arch.machine, arch.debian}:
            return arch.debian
    if re.fullmatch(r"i[3-6]86", machine):
        return "i386"
    raise ValueError(f"unknown architecture {machine!r}; known: {', '.join(ARCHITECTURES)}")


def needs_emulation(arch: str, native_arch: str) -> bool:
    """Whether programs for Debian architecture ``arch`` need qemu on a ``native_arch`` machine."""
    return arch != native_arch and arch not in _NATIVE_ALSO.get(native_arch, set())


def _registration(qemu: str, conf_dirs: Sequence[Path]) -> str | None:
    for directory in conf_dirs:
        conf = directory / f"qemu-{qemu}.conf"
        if conf.is_file():
            for line in conf.read_text(encoding="utf-8").splitlines():
                if line.startswith(f":qemu-{qemu}:"):
                    return line
    return None


def _entry_problem(entry: Path) -> str | None:
    """Why an existing binfmt entry cannot serve a chroot, or ``None`` when it can."""
    text = entry.read_text(encoding="utf-8", errors="replace")
    if not text.startswith("enabled"):
        return f"{entry} is disabled (echo 1 > {entry})"
    interpreter = re.search(r"^interpreter (\S+)", text, re.MULTILINE)
    flags = re.search(r"^flags: (\S*)", text, re.MULTILINE)
    if flags is None or "F" not in flags.group(1):
        name = interpreter.group(1) if interpreter else "its interpreter"
        return (
            f"{entry} lacks the F flag, so {name} is not found inside a root "
            f"(echo -1 > {entry} and let manywheel register qemu-user-static's entry)"
        )
    return None


def _mount_binfmt(binfmt_dir: Path) -> None:
    result = subprocess.run(
        ["mount", "-t", "binfmt_misc", "binfmt_misc", str(binfmt_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise UnavailableError(f"cannot mount binfmt_misc on {binfmt_dir}: {result.stderr.strip()}")


def ensure_binfmt(
    arch: str,
    *,
    native_arch: str,
    binfmt_dir: Path = BINFMT_DIR,
    conf_dirs: Sequence[Path] = BINFMT_CONF_DIRS,
) -> None:
    """Make sure this machine runs Debian architecture ``arch``'s programs, inside roots too.

    Registers qemu-user-static's entry (as root) when it is missing; raises
    :class:`UnavailableError` naming what to do when that cannot be done.
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; known: {', '.join(ARCHITECTURES)}")
    if not needs_emulation(arch, native_arch):
        return
    qemu = ARCHITECTURES[arch].qemu
    what = f"running {arch} programs on this {native_arch} machine"
    registration = _registration(qemu, conf_dirs)
    if registration is None:
        raise UnavailableError(f"{what} needs qemu-user-static (apt-get install qemu-user-static)")
    is_root = os.geteuid() == 0
    if not (binfmt_dir / "register").exists():
        if not is_root:
            raise UnavailableError(
                f"{what} needs binfmt_misc, which is not mounted "
                f"(as root: mount -t binfmt_misc binfmt_misc {binfmt_dir})"
            )
        _mount_binfmt(binfmt_dir)
    entry = binfmt_dir / f"qemu-{qemu}"
    if entry.exists():
        problem = _entry_problem(entry)
        if problem:
            raise UnavailableError(f"{what}: {problem}")
        return
    if not is_root:
        raise UnavailableError(
            f"{what} needs qemu-{qemu} registered with binfmt_misc "
            f"(as root: systemctl restart systemd-binfmt, or run manywheel once as root)"
        )
    try:
        (binfmt_dir / "register").write_text(registration + "\n", encoding="ascii")
    except FileExistsError:
        pass  # registered by someone else in the meantime
    except OSError as e:
        raise UnavailableError(f"{what}: registering qemu-{qemu} failed: {e.strerror}") from e
    problem = _entry_problem(entry) if entry.exists() else f"{entry} did not appear"
    if problem:
        raise UnavailableError(f"{what}: {problem}")
