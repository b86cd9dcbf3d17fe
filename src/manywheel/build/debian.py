"""The ``debian:SUITE`` build environment: builds in a Debian root with the suite's own gcc and
python, for projects whose native dependencies come from a distribution's packages.

Each target (a suite and an architecture) gets one root for the run, unpacked from a cached
*build root* (the base root plus gcc, g++, make, pkg-config and ``python3.X-dev``/``-venv``)
with fresh apt lists, so ``before-all`` can simply ``apt-get install -y libyaml-dev``. Its
builds share that root, as cibuildwheel's builds share a manylinux container: what before-all
installs with apt, or into ``/usr/local`` (``$MANYWHEEL_PREFIX``, the manylinux images'
convention), is there for every build of the target, and the in-process repair resolves the
wheel's libraries inside that root (``AuditOptions(root=...)``), so it grafts the root's
libyaml, not the host's. Another architecture's root runs its gcc under qemu-user.

Commands run through :func:`~manywheel.build.roots_run.run_in_root`: as root, or in a user
namespace otherwise (where apt still works; making the cached roots needs root once).
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from manywheel.build.environment import Workspace
from manywheel.build.identifiers import (
    BuildIdentifier,
    Platform,
    PythonImplementation,
    gnu_triple,
)
from manywheel.build.qemu import ARCHITECTURES, BINFMT_CONF_DIRS, debian_arch, needs_emulation
from manywheel.build.roots import SUITES, RootSpec, RootStore, root_facts, scratch_base
from manywheel.build.roots_cache import remove_tree
from manywheel.build.roots_errors import RootCommandError
from manywheel.build.roots_index import PackageIndex
from manywheel.build.roots_run import Bind, run_in_root
from manywheel.build.roots_session import (
    ROOT_PREFIX,
    Closing,
    RootSession,
    environment_binds,
    workspace_binds,
)

__all__ = ["DebianEnvironment", "build_root_spec"]

#: What a build root adds to the base root, besides the build's ``python3.X-dev``/``-venv``.
BUILD_PACKAGES = ("gcc", "g++", "make", "libc6-dev", "pkg-config")
_SANDBOX_CONF = 'APT::Sandbox::User "root";\n'
_APT_TIMEOUT = 1800.0


def build_root_spec(suite: str, arch: str, python: str) -> RootSpec:
    """The cached root builds of CPython ``python`` (``"3.11"``) for ``arch`` start from."""
    return RootSpec(suite, arch, (*BUILD_PACKAGES, f"python{python}-dev", f"python{python}-venv"))


class DebianEnvironment(Closing):
    """``debian:SUITE`` for one ``manywheel build`` run. Use it as a context manager (or call
    :meth:`close`): the targets' roots live in a scratch directory until then.

    ``store`` makes and caches the roots; ``index`` says where pip inside finds build
    requirements (the host's ``PIP_*`` never reach the root); ``binds`` adds host paths
    (read-only unless said); ``ca_bundle`` is bound over the root's CA bundle.
    """

    def __init__(
        self,
        suite: str,
        *,
        store: RootStore,
        index: PackageIndex | None = None,
        binds: Sequence[Bind] = (),
        ca_bundle: Path | None = None,
        workdir: Path | None = None,
        user_namespace: bool | None = None,
        binfmt_conf_dirs: Sequence[Path] = BINFMT_CONF_DIRS,
    ) -> None:
        if suite not in SUITES:
            raise ValueError(f"unknown Debian suite {suite!r}; known: {', '.join(SUITES)}")
        self.suite = suite
        self.store = store
        self.index = index or PackageIndex()
        self._binds = environment_binds(self.index, binds, ca_bundle)
        self._own_workdir = workdir is None
        self._workdir = workdir or Path(
            tempfile.mkdtemp(prefix=f"manywheel-{suite}-", dir=scratch_base())
        )
        self._workdir.mkdir(parents=True, exist_ok=True)
        self._user_namespace = user_namespace
        self._binfmt_conf_dirs = tuple(binfmt_conf_dirs)
        self._roots: dict[str, Path] = {}
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"debian:{self.suite}"

    def close(self) -> None:
        """Remove the targets' roots (and the scratch directory, if this made it)."""
        with self._lock:
            for root in self._roots.values():
                remove_tree(root.parent, ignore_errors=True)
            self._roots.clear()
            if self._own_workdir:
                remove_tree(self._workdir, ignore_errors=True)

    def _spec(self, identifier: BuildIdentifier) -> RootSpec:
        major, minor = identifier.version
        return build_root_spec(self.suite, debian_arch(identifier.arch), f"{major}.{minor}")

    def unavailable(self, identifier: BuildIdentifier) -> str | None:
        if identifier.implementation is not PythonImplementation.CPYTHON:
            return f"{self.name} builds CPython wheels only"
        if identifier.platform is not Platform.MANYLINUX:
            return f"{self.name} is a glibc system: build musllinux wheels with the zig environment"
        suite = SUITES[self.suite]
        version = identifier.version_text
        if identifier.free_threaded:
            return f"Debian {self.suite} has no free-threaded CPython {version}"
        if version not in suite.pythons:
            ships = ", ".join(suite.pythons)
            return f"Debian {self.suite} ships CPython {ships}, not {version}"
        arch = debian_arch(identifier.arch)
        if arch not in ARCHITECTURES:
            return f"no Debian architecture for {identifier.arch}"
        if os.geteuid() != 0:
            base = self.store.cache.roots / RootSpec(self.suite, arch).archive_name
            if not base.is_file():
                return (
                    f"the {self.suite} {arch} root is not cached and making it needs root "
                    "(run manywheel once as root)"
                )
        native = self.store.native_arch
        if needs_emulation(arch, native):
            qemu = ARCHITECTURES[arch].qemu
            if not any((d / f"qemu-{qemu}.conf").is_file() for d in self._binfmt_conf_dirs):
                return (
                    f"building for {identifier.arch} on this {native} machine needs "
                    "qemu-user-static (apt-get install qemu-user-static)"
                )
        return None

    def target(self, identifier: BuildIdentifier) -> str:
        return f"{self.suite}-{debian_arch(identifier.arch)}-py{identifier.version_text}"

    def prepare(self, identifiers: Sequence[BuildIdentifier], log: BinaryIO) -> None:
        """Make (once, cached) and unpack each target's root, with fresh apt lists."""
        for identifier in identifiers:
            self._root(identifier, log)

    def _root(self, identifier: BuildIdentifier, log: BinaryIO) -> Path:
        target = self.target(identifier)
        with self._lock:
            if target in self._roots:
                return self._roots[target]
            spec = self._spec(identifier)
            log.write(f"manywheel: preparing the {spec.name} root for {target}\n".encode())
            log.flush()
            directory = Path(tempfile.mkdtemp(prefix=f"{target}-", dir=self._workdir))
            root = self.store.unpack(spec, directory / "root")
            if self._user_namespace_for_run():
                (root / "etc/apt/apt.conf.d/99manywheel-userns").write_text(_SANDBOX_CONF)
            result = run_in_root(
                root,
                ["apt-get", "update", "-q"],
                env={"DEBIAN_FRONTEND": "noninteractive"},
                timeout=_APT_TIMEOUT,
                log=log,
                user_namespace=self._user_namespace,
            )
            if result.returncode != 0:
                remove_tree(directory, ignore_errors=True)
                raise RootCommandError(
                    f"apt-get update in the {spec.name} root failed (exit {result.returncode}; "
                    "its output is in the log)",
                    tail="",
                )
            self._roots[target] = root
            return root

    def _user_namespace_for_run(self) -> bool:
        if self._user_namespace is not None:
            return self._user_namespace
        return os.geteuid() != 0

    def platform_tag(self, identifier: BuildIdentifier) -> str:
        """``manylinux_2_<glibc>_<arch>``: the newest tag a wheel built in this suite can need
        (what repair may ask for; a wheel that needs less still passes older policies)."""
        glibc = SUITES[self.suite].glibc
        if glibc is None:
            roots = [r for t, r in self._roots.items() if t.startswith(f"{self.suite}-")]
            if not roots:
                raise ValueError(f"the {self.suite} root is not prepared: its glibc is unknown")
            glibc = root_facts(roots[0]).glibc
        return f"manylinux_{glibc[0]}_{glibc[1]}_{identifier.arch}"

    @contextmanager
    def open(
        self, identifier: BuildIdentifier, workspace: Workspace, log: BinaryIO
    ) -> Iterator[RootSession]:
        root = self._root(identifier, log)
        base = {
            **self.index.environment(),
            "DEBIAN_FRONTEND": "noninteractive",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_ROOT_USER_ACTION": "ignore",
        }
        major, minor = identifier.version
        yield RootSession(
            identifier,
            root,
            f"python{major}.{minor}",
            workspace,
            (*self._binds, *workspace_binds(workspace)),
            base,
            _variables(identifier, self.platform_tag(identifier)),
            self._user_namespace_for_run(),
        )


def _variables(identifier: BuildIdentifier, platform_tag: str) -> dict[str, str]:
    return {
        "CC": "gcc",
        "CXX": "g++",
        "MANYWHEEL_PREFIX": str(ROOT_PREFIX),
        "MANYWHEEL_IDENTIFIER": str(identifier),
        "MANYWHEEL_ARCH": identifier.arch,
        "MANYWHEEL_PLATFORM": platform_tag,
        "MANYWHEEL_HOST": gnu_triple(identifier.arch, identifier.libc),
        "AUDITWHEEL_PLAT": platform_tag,
    }
