"""The ``container:IMAGE`` build environment: builds in a container image (the manylinux images
users know) with podman, or docker when its daemon answers.

Every session is a container of its own (``run -d IMAGE sleep infinity``, then ``exec``), with
the session's workspace bound in at the same paths and the host's network. What a session
leaves in the container's system (before-all's ``yum install`` or ``apt-get install``, a
library installed to ``/usr/local``) is committed to an image the target's later sessions
start from, as cibuildwheel's builds share one container; files under the workspace, /tmp and
caches are not changes. The in-process repair resolves libraries in the live container through
``/proc/<pid>/root`` (no mount needed). Nothing of the host's environment is passed in.

No image can be pulled on this machine, so the tests import one from a packed Debian root
(:func:`root_image`). A machine whose container runtime needs help (limits the runtime may not
raise, cgroups crun refuses) gets it from :func:`find_engine`, which probes a real run.
"""

from __future__ import annotations

import logging
import resource
import shlex
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from manywheel.audit import AuditOptions
from manywheel.build.environment import Workspace
from manywheel.build.identifiers import BuildIdentifier, gnu_triple
from manywheel.build.roots import ROOT_FORMAT_VERSION, RootSpec, RootStore
from manywheel.build.roots_errors import RootCommandError, UnavailableError
from manywheel.build.roots_index import PackageIndex
from manywheel.build.roots_run import TIMEOUT_EXIT, Bind
from manywheel.build.roots_session import (
    ROOT_PREFIX,
    Closing,
    environment_binds,
    shared_inside,
    workspace_binds,
)
from manywheel.values import value_class

__all__ = [
    "ContainerEngine",
    "ContainerEnvironment",
    "ContainerSession",
    "find_engine",
    "root_image",
]

log = logging.getLogger(__name__)

#: Changes a session may leave that are not the system's: temporary files, caches, and the
#: files the engine itself writes.
_NOT_CHANGES = (
    *("/tmp", "/var/tmp", "/run", "/root/.cache", "/dev", "/proc", "/sys"),
    *("/etc/hosts", "/etc/hostname", "/etc/resolv.conf"),
)
_PROBE_TIMEOUT = 120.0


def _run(
    argv: Sequence[str], *, timeout: float = 600, stdin: bytes | None = None
) -> tuple[int, str]:
    try:
        result = subprocess.run(
            argv, input=stdin, capture_output=True, check=False, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return TIMEOUT_EXIT, f"{argv[0]} did not answer in {timeout:.0f} s"
    except OSError as e:
        return 127, f"cannot run {argv[0]}: {e.strerror}"
    return result.returncode, (result.stdout + result.stderr).decode("utf-8", "replace")


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith(("error", "cannot", "failed"))]
    return (errors or lines or ["no output"])[0]


@value_class
class ContainerEngine:
    """podman or docker as this machine needs it run: ``command`` (with global options such as
    ``--runtime runc``) and ``run_options`` added to every container (``--ulimit``...)."""

    name: str
    command: tuple[str, ...]
    run_options: tuple[str, ...] = ()

    def __call__(self, *args: str) -> list[str]:
        return [*self.command, *args]


def find_engine(names: Sequence[str] = ("podman", "docker")) -> ContainerEngine:
    """The first engine of ``names`` that is installed and answers ``info``; otherwise
    :class:`UnavailableError` with one line saying why for each."""
    reasons = []
    for name in names:
        program = shutil.which(name)
        if program is None:
            reasons.append(f"{name} is not installed")
            continue
        code, output = _run([program, "info"], timeout=60)
        if code == 0:
            return ContainerEngine(name, (program,))
        reasons.append(f"{name}: {_first_line(output)}")
    raise UnavailableError(f"no container engine works here ({'; '.join(reasons)})")


def _limits(nproc: int) -> tuple[str, ...]:
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return ("--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", f"nproc={nproc}:{nproc}")


def fit_engine(engine: ContainerEngine, image: str) -> ContainerEngine:
    """``engine`` with what it needs to run ``image`` here, found by really running it.

    A runtime without CAP_SYS_RESOURCE cannot set the limits podman asks for by default
    (``setrlimit RLIMIT_NOFILE``: this process's own limits are passed instead, the processes
    limit lowered until accepted); crun refuses hybrid cgroups (runc is used when installed).
    Raises :class:`UnavailableError` with the engine's own message when nothing works.
    """
    current = engine
    nprocs = [resource.getrlimit(resource.RLIMIT_NPROC)[1], 32768, 4096]
    for _attempt in range(6):
        code, output = _run(
            current("run", "--rm", "--network", "host", *current.run_options, image, "true"),
            timeout=_PROBE_TIMEOUT,
        )
        if code == 0:
            return current
        runc = shutil.which("runc")
        if "cgroups in hybrid mode" in output and runc and "--runtime" not in current.command:
            current = replace(current, command=(*current.command, "--runtime", runc))
        elif ("rlimit" in output.lower()) and nprocs:
            current = replace(current, run_options=_limits(nprocs.pop(0)))
        else:
            break
    raise UnavailableError(f"{engine.name} cannot run {image} here: {_first_line(output)}")


def root_image(engine: ContainerEngine, store: RootStore, spec: RootSpec | str) -> str:
    """An image made from a packed Debian root (imported once, then found in the engine's
    storage): ``localhost/manywheel/<root name>:v<format>``."""
    spec = RootSpec(spec) if isinstance(spec, str) else spec
    tag = f"localhost/manywheel/{spec.name}:v{ROOT_FORMAT_VERSION}"
    if _run(engine("image", "inspect", tag), timeout=60)[0] == 0:
        return tag
    archive = store.archive(spec)
    unpacked = subprocess.run(["zstd", "-dc", str(archive)], capture_output=True, check=True)
    code, output = _run(
        engine("import", "--change", 'CMD ["/bin/sh"]', "-", tag), stdin=unpacked.stdout
    )
    if code != 0:
        raise RootCommandError(f"{engine.name} import of {archive.name} failed", tail=output)
    return tag


def _is_change(path: str, ignored: Sequence[str]) -> bool:
    for skip in ignored:
        if path == skip or path.startswith(skip.rstrip("/") + "/") or skip.startswith(path + "/"):
            return False
    return True


@dataclass(slots=True)
class ContainerSession:
    """One session's container (see :class:`~manywheel.build.Session`)."""

    identifier: BuildIdentifier
    engine: ContainerEngine
    container: str
    workspace: Workspace
    python: str
    pid: int
    variables: Mapping[str, str] = field(default_factory=dict)

    @property
    def prefix(self) -> PurePosixPath:
        return ROOT_PREFIX

    @property
    def meson_native_file(self) -> PurePosixPath | None:
        return None

    def inside(self, path: Path) -> PurePosixPath:
        return shared_inside(self.workspace, path, f"container {self.container}")

    def outside(self, path: PurePosixPath) -> Path:
        host = Path(path)
        self.inside(host)
        return host

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: PurePosixPath,
        env: Mapping[str, str],
        log: BinaryIO,
        timeout: float | None = None,
    ) -> int:
        log.write(f"$ {shlex.join(argv)}\n".encode())
        log.flush()
        variables = [f"--env={k}={v}" for k, v in {**self.variables, **env}.items()]
        command = self.engine("exec", f"--workdir={cwd}", *variables, self.container, *argv)
        try:
            return subprocess.run(
                command, stdout=log, stderr=subprocess.STDOUT, check=False, timeout=timeout
            ).returncode
        except subprocess.TimeoutExpired:
            # The engine's client is gone, not what it ran: stop the whole container.
            _run(self.engine("kill", self.container), timeout=60)
            log.write(f"\n[manywheel] killed: did not finish in {timeout:.0f} s\n".encode())
            return TIMEOUT_EXIT

    def audit_options(self) -> AuditOptions:
        """The live container's file system, through its first process's root."""
        return AuditOptions(
            root=f"/proc/{self.pid}/root",
            extra_ldpaths=(f"{ROOT_PREFIX}/lib", f"{ROOT_PREFIX}/lib64"),
        )


class ContainerEnvironment(Closing):
    """``container:IMAGE`` for one run; a context manager (or :meth:`close`) that removes the
    images it committed."""

    def __init__(
        self,
        image: str,
        *,
        engine: ContainerEngine,
        index: PackageIndex | None = None,
        binds: Sequence[Bind] = (),
        ca_bundle: Path | None = None,
    ) -> None:
        self.image = image
        self.engine = engine
        self.index = index or PackageIndex()
        self._binds = environment_binds(self.index, binds, ca_bundle)
        self._images: dict[str, str] = {}
        self._committed: list[str] = []
        self._facts: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"container:{self.image}"

    def close(self) -> None:
        with self._lock:
            for image in self._committed:
                _run(self.engine("rmi", "--force", image), timeout=120)
            self._committed.clear()
            self._images.clear()

    def _fact(self, key: str, argv: Sequence[str]) -> str:
        if key not in self._facts:
            code, output = _run(argv, timeout=_PROBE_TIMEOUT)
            self._facts[key] = output.strip() if code == 0 else ""
        return self._facts[key]

    def image_arch(self) -> str:
        """The image's architecture as a wheel tag names it (``x86_64``)."""
        arch = self._fact(
            "arch", self.engine("image", "inspect", "--format", "{{.Architecture}}", self.image)
        )
        return {"amd64": "x86_64", "arm64": "aarch64", "386": "i686", "arm": "armv7l"}.get(
            arch, arch
        )

    def unavailable(self, identifier: BuildIdentifier) -> str | None:
        arch = self.image_arch()
        if not arch:
            return f"{self.engine.name} has no image {self.image} (pull or build it first)"
        if arch != identifier.arch:
            return f"{self.image} is an {arch} image, not {identifier.arch}"
        return None

    def target(self, identifier: BuildIdentifier) -> str:
        return self.image.rsplit("/", 1)[-1].replace(":", "-")

    def prepare(self, identifiers: Sequence[BuildIdentifier], log: BinaryIO) -> None:
        """Check that the image runs, and find its glibc."""
        code, output = _run(
            self.engine(
                "run", "--rm", *self.engine.run_options, self.image, "getconf", "GNU_LIBC_VERSION"
            ),
            timeout=_PROBE_TIMEOUT,
        )
        log.write(f"manywheel: {self.image}: {output.strip()}\n".encode())
        if code != 0:
            raise RootCommandError(f"{self.engine.name} cannot run {self.image}", tail=output)
        self._facts["glibc"] = output.split()[-1]

    def platform_tag(self, identifier: BuildIdentifier) -> str:
        """``manylinux_<glibc>_<arch>`` for the image's glibc (once :meth:`prepare` ran)."""
        major, minor = self._facts["glibc"].split(".")[:2]
        return f"manylinux_{major}_{minor}_{identifier.arch}"

    def _start(self, image: str, workspace: Workspace) -> str:
        name = f"manywheel-{uuid.uuid4().hex[:12]}"
        volumes = [
            f"--volume={bind.source}:{bind.inside}:{'rw' if bind.writable else 'ro'}"
            for bind in (*workspace_binds(workspace), *self._binds)
        ]
        argv = self.engine(
            "run", "--detach", f"--name={name}", "--network=host", *self.engine.run_options
        )
        code, output = _run([*argv, *volumes, image, "sleep", "infinity"], timeout=_PROBE_TIMEOUT)
        if code != 0:
            raise RootCommandError(f"{self.engine.name} could not start {image}", tail=output)
        return name

    def _python(self, container: str, identifier: BuildIdentifier) -> str:
        major, minor = identifier.version
        abi = f"cp{major}{minor}-cp{major}{minor}{'t' if identifier.free_threaded else ''}"
        candidates = [f"/opt/python/{abi}/bin/python", f"python{identifier.version_text}"]
        script = "for p in " + " ".join(candidates) + "; do command -v $p && exit 0; done; exit 1"
        code, output = _run(
            self.engine("exec", container, "sh", "-c", script), timeout=_PROBE_TIMEOUT
        )
        if code != 0:
            raise UnavailableError(f"{self.image} has no CPython {identifier.version_text}")
        return output.strip().splitlines()[0]

    def _commit_changes(self, target: str, container: str, workspace: Workspace) -> None:
        code, output = _run(self.engine("diff", container), timeout=_PROBE_TIMEOUT)
        ignored = [*_NOT_CHANGES, str(workspace.scratch), *map(str, workspace.tools)]
        ignored += [str(bind.inside) for bind in self._binds]
        changed = [
            line.split(None, 1)[1]
            for line in output.splitlines()
            if code == 0 and len(line.split(None, 1)) == 2
        ]
        if not [path for path in changed if _is_change(path, ignored)]:
            return
        image = f"localhost/manywheel-target/{target.lower()}:{uuid.uuid4().hex[:8]}"
        code, output = _run(self.engine("commit", container, image), timeout=1800)
        if code != 0:
            raise RootCommandError(f"{self.engine.name} commit of {container} failed", tail=output)
        with self._lock:
            self._images[target] = image
            self._committed.append(image)

    @contextmanager
    def open(
        self, identifier: BuildIdentifier, workspace: Workspace, log: BinaryIO
    ) -> Iterator[ContainerSession]:
        target = self.target(identifier)
        with self._lock:
            image = self._images.get(target, self.image)
        container = self._start(image, workspace)
        try:
            code, output = _run(
                self.engine("inspect", "--format", "{{.State.Pid}}", container), timeout=60
            )
            if code != 0 or not output.strip().isdigit():
                raise RootCommandError(f"cannot inspect container {container}", tail=output)
            if "glibc" not in self._facts:
                self.prepare([identifier], log)
            tag = self.platform_tag(identifier)
            variables = {
                **self.index.environment(),
                "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                "PIP_ROOT_USER_ACTION": "ignore",
                "MANYWHEEL_PREFIX": str(ROOT_PREFIX),
                "MANYWHEEL_IDENTIFIER": str(identifier),
                "MANYWHEEL_ARCH": identifier.arch,
                "MANYWHEEL_PLATFORM": tag,
                "MANYWHEEL_HOST": gnu_triple(identifier.arch, identifier.libc),
                "AUDITWHEEL_PLAT": tag,
            }
            yield ContainerSession(
                identifier,
                self.engine,
                container,
                workspace,
                self._python(container, identifier),
                int(output.strip()),
                variables,
            )
            self._commit_changes(target, container, workspace)
        finally:
            _run(self.engine("kill", container), timeout=60)  # its sleep ignores SIGTERM
            _run(self.engine("rm", "--force", container), timeout=120)
