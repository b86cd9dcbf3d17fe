"""Minimal Debian roots: made once with debootstrap, cached packed, unpacked per use.

A base root is ``debootstrap --variant=minbase --include=python3,python3-venv`` of a suite and
architecture, plus the host's CA bundle, with apt lists, docs, man pages and locales removed: it
has python and python's own dependencies (libffi, libssl, ...) and nothing else, the clean system
a repaired wheel must work on. A *derived* root adds Debian packages to a base root (a compiler
and python3-dev for building, a second python for testing) with the root's own apt. Each is
packed as ``tar.zst`` under :attr:`CacheDirectory.roots` (~35 MB; unpacking takes well under a
second on tmpfs) and unpacked into a scratch directory for each use.

Other architectures are made with ``debootstrap --foreign`` and finished inside the root under
qemu-user (see :mod:`manywheel.build.qemu`). Making a root needs root; running one does not
(see :mod:`manywheel.build.roots_run`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import field
from pathlib import Path

from manywheel.build.qemu import ARCHITECTURES, ensure_binfmt
from manywheel.build.roots_apt import APT_CONF, APT_CONF_PATH, apt_install, host_debian_mirror
from manywheel.build.roots_cache import CacheDirectory, exclusive_lock, remove_tree, staging_dir
from manywheel.build.roots_errors import RootCommandError, UnavailableError
from manywheel.build.roots_run import run_in_root
from manywheel.values import value_class

__all__ = [
    "BASE_PACKAGES",
    "FALLBACK_MIRROR",
    "ROOT_FORMAT_VERSION",
    "SUITES",
    "RootFacts",
    "RootSpec",
    "RootStore",
    "Suite",
    "host_debian_mirror",
    "root_facts",
    "scratch_base",
    "unpack_root",
]

log = logging.getLogger(__name__)

# Bump when what goes into a root changes: the archive name carries it, so old caches are ignored.
ROOT_FORMAT_VERSION = 1
BASE_PACKAGES = ("python3", "python3-venv")
FALLBACK_MIRROR = "http://deb.debian.org/debian"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# Deleted before packing: nothing a build or a test needs, most of the size.
PRUNED = (
    "var/lib/apt/lists",
    "var/cache/apt",
    "var/cache/debconf",
    "var/log",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
)
_TIMEOUT = 3600.0


@value_class
class Suite:
    """A Debian release roots can be made of, with the facts known in advance (``None`` for a
    moving target such as sid: read them from the root with :func:`root_facts`)."""

    name: str
    glibc: tuple[int, int] | None
    python: str | None  # the suite's python3, e.g. "3.11"
    #: Every CPython the suite ships as ``python3.X`` packages (sid's as of this writing).
    pythons: tuple[str, ...] = ()


SUITES: Mapping[str, Suite] = {
    s.name: s
    for s in (
        Suite("bullseye", (2, 31), "3.9", ("3.9",)),
        Suite("bookworm", (2, 36), "3.11", ("3.11",)),
        Suite("trixie", (2, 41), "3.13", ("3.13",)),
        Suite("sid", None, None, ("3.13", "3.14", "3.15")),
    )
}


@value_class
class RootSpec:
    """What goes into a root: a suite and Debian architecture, plus packages on top of the base
    (``packages``) and ``deb-src`` lines so ``apt-get source`` works (``sources``)."""

    suite: str
    arch: str = "amd64"
    packages: tuple[str, ...] = ()
    sources: bool = False

    def __post_init__(self) -> None:
        if self.suite not in SUITES:
            raise ValueError(f"unknown suite {self.suite!r}; known: {', '.join(SUITES)}")
        if self.arch not in ARCHITECTURES:
            raise ValueError(
                f"unknown architecture {self.arch!r}; known: {', '.join(ARCHITECTURES)}"
            )
        for package in self.packages:
            if not re.fullmatch(r"[a-z0-9][a-z0-9+.-]*(:[a-z0-9]+)?", package):
                raise ValueError(f"not a Debian package name: {package!r}")
        object.__setattr__(self, "packages", tuple(sorted(set(self.packages))))

    @property
    def base(self) -> RootSpec:
        return RootSpec(self.suite, self.arch)

    @property
    def is_base(self) -> bool:
        return not self.packages and not self.sources

    @property
    def name(self) -> str:
        """``bookworm`` (amd64 base), ``bookworm-arm64``, ``bookworm-with-1a2b3c4d``."""
        name = self.suite if self.arch == "amd64" else f"{self.suite}-{self.arch}"
        if self.is_base:
            return name
        digest = hashlib.sha256(" ".join([*self.packages, f"src={self.sources}"]).encode())
        return f"{name}-with-{digest.hexdigest()[:8]}"

    @property
    def archive_name(self) -> str:
        return f"{self.name}-v{ROOT_FORMAT_VERSION}.tar.zst"

    def with_packages(self, *packages: str, sources: bool = False) -> RootSpec:
        return RootSpec(self.suite, self.arch, (*self.packages, *packages), self.sources or sources)


@value_class
class RootFacts:
    """What a root holds, read from its files (nothing inside it is run)."""

    arch: str
    glibc: tuple[int, int]
    python: str  # the version /usr/bin/python3 points to, e.g. "3.11"
    pythons: tuple[str, ...] = field(default=())  # every /usr/bin/python3.X, e.g. ("3.13", "3.14")


def _dpkg_field(status: str, package: str, name: str) -> str | None:
    for stanza in status.split("\n\n"):
        if re.search(rf"^Package: {re.escape(package)}$", stanza, re.MULTILINE):
            found = re.search(rf"^{name}: (\S+)", stanza, re.MULTILINE)
            if found:
                return found.group(1)
    return None


def root_facts(root: Path) -> RootFacts:
    """The architecture, glibc and pythons of the Debian root at ``root``."""
    status = (root / "var/lib/dpkg/status").read_text(encoding="utf-8", errors="replace")
    version = _dpkg_field(status, "libc6", "Version")
    arch = _dpkg_field(status, "libc6", "Architecture")
    glibc = re.match(r"(?:\d+:)?(\d+)\.(\d+)", version or "")
    if glibc is None or arch is None:
        raise ValueError(f"{root}: no libc6 in the dpkg database; not a Debian root")
    found = (re.fullmatch(r"python(3)\.(\d+)(t?)", p.name) for p in (root / "usr/bin").glob("py*"))
    versions = sorted((int(m[1]), int(m[2]), m[3]) for m in found if m)
    pythons = [f"{major}.{minor}{t}" for major, minor, t in versions]
    python3 = root / "usr/bin/python3"
    target = str(python3.readlink()) if python3.is_symlink() else ""
    return RootFacts(
        arch,
        (int(glibc.group(1)), int(glibc.group(2))),
        target.removeprefix("python"),
        tuple(pythons),
    )


def _run(argv: Sequence[str], what: str, *, timeout: float = _TIMEOUT) -> None:
    try:
        result = subprocess.run(
            argv, capture_output=True, text=True, errors="replace", check=False, timeout=timeout
        )
    except subprocess.TimeoutExpired as e:
        raise RootCommandError(f"{what} timed out after {timeout:.0f} s", tail="") from e
    except OSError as e:
        raise RootCommandError(f"{what}: cannot run {argv[0]}: {e.strerror}", tail="") from e
    if result.returncode != 0:
        raise RootCommandError(
            f"{what} failed (exit {result.returncode})", tail=result.stdout + result.stderr
        )


def _missing_tools(tools: Sequence[str]) -> list[str]:
    return [tool for tool in tools if shutil.which(tool) is None]


def pack_root(tree: Path, archive: Path, members: Sequence[str] = (".",)) -> None:
    """Pack ``members`` (relative paths) of the directory ``tree`` into the ``tar.zst`` file
    ``archive``, owners and modes kept."""
    argv = ["tar", "--numeric-owner", "-I", "zstd -T0 -6", "-cf", str(archive), "-C", str(tree)]
    _run([*argv, "--", *members], f"packing {tree}")


def unpack_root(archive: Path, dest: Path, *, overlays: Sequence[Path] = ()) -> Path:
    """Unpack a packed root into the empty or missing directory ``dest``, then each of
    ``overlays`` (packed trees such as a built interpreter) over it; returns ``dest``.

    ``/dev`` is left empty: device nodes cannot be made without root, and the runner mounts
    the few a command needs. Without root the files belong to the caller, who is root inside
    a user namespace.
    """
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty")
    for packed in (archive, *overlays):
        argv = ["tar", "--numeric-owner", "-I", "zstd -T0", "-xf", str(packed), "-C", str(dest)]
        _run([*argv, "--exclude=./dev/*"], f"unpacking {packed}")
    return dest


def scratch_base(candidates: Iterable[Path] = (Path("/dev/shm"),), min_free: int = 2 << 30) -> Path:
    """Where to unpack roots: a tmpfs when one allows devices and executables and has room.

    Unpacking a root (~130 MB of small files) takes ~0.2 s on tmpfs and 1-5 s on a busy disk.
    """
    for candidate in candidates:
        try:
            stat = os.statvfs(candidate)
        except OSError:
            continue
        usable = not stat.f_flag & (os.ST_NODEV | os.ST_NOEXEC | os.ST_RDONLY)
        if usable and stat.f_bavail * stat.f_frsize >= min_free and os.access(candidate, os.W_OK):
            return candidate
    return Path(tempfile.gettempdir())


def _finish_root(root: Path, ca_bundle: Path | None) -> None:
    """Prune what builds and tests never need and give the root the host's CA bundle."""
    for relative in PRUNED:
        target = root / relative
        if target.is_dir():
            shutil.rmtree(target)
            target.mkdir(mode=0o755)
    if ca_bundle is not None and ca_bundle.is_file():
        inside = root / CA_BUNDLE.lstrip("/")
        inside.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ca_bundle, inside)
    for leftover in (root / "tmp").iterdir():
        remove_tree(leftover)


@value_class
class RootStore:
    """Makes, caches and unpacks roots.

    ``native_arch`` is this machine's Debian architecture (``dpkg --print-architecture``; the
    caller finds it), ``mirror`` the Debian archive to bootstrap from, ``ca_bundle`` the host's
    CA bundle copied into every root (for pip over TLS).
    """

    cache: CacheDirectory
    native_arch: str
    mirror: str = FALLBACK_MIRROR
    ca_bundle: Path | None = Path(CA_BUNDLE)

    def archive(self, spec: RootSpec | str) -> Path:
        """The packed root for ``spec``, made first when the cache has none.

        Safe for concurrent callers: one makes it under a lock, the others wait and reuse it.
        Raises :class:`UnavailableError` when it is not cached and cannot be made here, and
        :class:`RootCommandError` when debootstrap or apt fails.
        """
        spec = RootSpec(spec) if isinstance(spec, str) else spec
        archive = self.cache.roots / spec.archive_name
        if archive.is_file():
            return archive
        base = None if spec.is_base else self.archive(spec.base)
        with exclusive_lock(self.cache, f"root-{spec.name}"):
            if archive.is_file():  # another process made it while we waited
                return archive
            started = time.monotonic()
            with staging_dir(self.cache.roots, f"build-{spec.name}") as staging:
                tree = staging / "root"
                if base is None:
                    self._bootstrap(spec, tree)
                else:
                    self._derive(spec, base, tree)
                _finish_root(tree, self.ca_bundle)
                packed = staging / archive.name
                pack_root(tree, packed)
                packed.replace(archive)
            log.info("made root %s in %.1f s", spec.name, time.monotonic() - started)
        return archive

    def unpack(self, spec: RootSpec | str, dest: Path, *, overlays: Sequence[Path] = ()) -> Path:
        """A fresh root for ``spec`` (with ``overlays`` over it) at the empty or missing
        directory ``dest``."""
        return unpack_root(self.archive(spec), dest, overlays=overlays)

    @contextmanager
    def scratch(
        self, spec: RootSpec | str, base: Path | None = None, *, overlays: Sequence[Path] = ()
    ) -> Iterator[Path]:
        """A fresh root for ``spec`` (with ``overlays`` over it) in a new directory under
        ``base`` (default: a tmpfs with room, else the temporary directory), removed on the way
        out."""
        workdir = Path(tempfile.mkdtemp(prefix="manywheel-root-", dir=base or scratch_base()))
        try:
            yield self.unpack(spec, workdir / "root", overlays=overlays)
        finally:
            remove_tree(workdir, ignore_errors=True)

    def _check_can_bootstrap(self, spec: RootSpec) -> None:
        what = f"making a {spec.name} root"
        if os.geteuid() != 0:
            raise UnavailableError(
                f"{what} needs root (debootstrap creates device nodes and sets owners); "
                "make it once as root, later runs reuse the cache"
            )
        missing = _missing_tools(["debootstrap", "tar", "zstd", "unshare"])
        if missing:
            raise UnavailableError(
                f"{what} needs {', '.join(missing)} (apt-get install debootstrap zstd)"
            )
        if spec.arch != self.native_arch:
            ensure_binfmt(spec.arch, native_arch=self.native_arch)

    def _bootstrap(self, spec: RootSpec, tree: Path) -> None:
        self._check_can_bootstrap(spec)
        self.cache.debs.mkdir(parents=True, exist_ok=True)
        foreign = spec.arch != self.native_arch
        argv = [
            "debootstrap",
            "--variant=minbase",
            f"--arch={spec.arch}",
            f"--include={','.join(BASE_PACKAGES)}",
            f"--cache-dir={self.cache.debs}",
            *(["--foreign"] if foreign else []),
            spec.suite,
            str(tree),
            self.mirror,
        ]
        # In a private mount namespace: the proc and sysfs debootstrap mounts in the root go
        # away with it, even when it is killed, so the tree can always be deleted safely.
        _run(["unshare", "--mount", "--fork", "--", *argv], f"debootstrap {spec.name}")
        if foreign:
            second = run_in_root(
                tree, ["/debootstrap/debootstrap", "--second-stage"], timeout=_TIMEOUT
            )
            if second.returncode != 0:
                raise RootCommandError(
                    f"debootstrap --second-stage of {spec.name} under qemu failed "
                    f"(exit {second.returncode})",
                    tail=second.stdout + second.stderr,
                )

    def _derive(self, spec: RootSpec, base: Path, tree: Path) -> None:
        if spec.arch != self.native_arch:
            ensure_binfmt(spec.arch, native_arch=self.native_arch)
        unpack_root(base, tree)
        (tree / APT_CONF_PATH).write_text(APT_CONF, encoding="utf-8")
        if spec.sources:
            sources = tree / "etc/apt/sources.list"
            lines = sources.read_text(encoding="utf-8").splitlines()
            extra = [
                line.replace("deb ", "deb-src ", 1) for line in lines if line.startswith("deb ")
            ]
            sources.write_text("\n".join([*lines, *extra]) + "\n", encoding="utf-8")
        apt_install(tree, spec.packages, what=f"making the {spec.name} root")
