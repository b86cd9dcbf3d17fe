"""Wheels the check and upload tests build: C extensions compiled here with gcc against a host
Python's headers (so their symbol versions are real), and pure wheels with any METADATA."""

from __future__ import annotations

import subprocess
import zipfile
from collections.abc import Mapping
from pathlib import Path

from tests.harness.availability import Unavailable, require
from tests.harness.extensions import module_source
from tests.harness.sdists import HostPython, find_python
from tests.wheel.builders import record_text, write_wheel

__all__ = [
    "THREADS",
    "extension_wheel",
    "host_python",
    "metadata_text",
    "pure_wheel",
    "tamper",
]

#: An extension whose init starts a thread: ``pthread_create`` is ``GLIBC_2.34`` on this host.
THREADS = (
    "#include <pthread.h>\nstatic void *run(void *arg) { return arg; }\n",
    "pthread_t t; if (pthread_create(&t, NULL, run, NULL) == 0) pthread_join(t, NULL);",
)


def host_python() -> HostPython:
    """The host's CPython 3.11 with headers (skips, or fails in CI, without one)."""
    try:
        return find_python("3.11")
    except Unavailable as e:
        require([str(e)])
        raise


def metadata_text(name: str, version: str, extra: str = "", description: str | None = None) -> str:
    """METADATA 2.1 with a summary and, unless ``description`` is ``""``, a Markdown body."""
    text = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {name} for tests\n"
    text += extra
    if description is None:
        description = f"# {name}\n\nA wheel built by manywheel's tests.\n"
    if description:
        text += "Description-Content-Type: text/markdown\n\n" + description
    return text


def _write(
    directory: Path,
    *,
    name: str,
    version: str,
    tag: str,
    files: Mapping[str, bytes],
    metadata: str,
    purelib: bool,
) -> Path:
    dist_info = f"{name}-{version}.dist-info"
    members = dict(files)
    members[f"{dist_info}/METADATA"] = metadata.encode()
    wheel = (
        f"Wheel-Version: 1.0\nGenerator: manywheel-tests\nRoot-Is-Purelib: {str(purelib).lower()}\n"
    )
    python, abi, platforms = tag.split("-")
    wheel += "".join(
        f"Tag: {p}-{a}-{plat}\n"
        for p in python.split(".")
        for a in abi.split(".")
        for plat in platforms.split(".")
    )
    members[f"{dist_info}/WHEEL"] = wheel.encode()
    members[f"{dist_info}/RECORD"] = record_text(members, f"{dist_info}/RECORD").encode()
    directory.mkdir(parents=True, exist_ok=True)
    return write_wheel(directory / f"{name}-{version}-{tag}.whl", members)


def extension_wheel(
    directory: Path,
    python: HostPython,
    name: str,
    platform_tag: str,
    *,
    version: str = "1.0",
    code: tuple[str, str] = ("", ""),
    metadata: str | None = None,
    python_tag: str | None = None,
) -> Path:
    """Extension module ``name`` (``code``: C declarations and a statement run at import; it
    returns ``name.answer() == 42``) compiled with gcc, in a wheel tagged ``platform_tag``
    (and ``python_tag``, default the interpreter's ``cp311-cp311``)."""
    body, call = code
    body += "static PyObject *answer(PyObject *s, PyObject *a) { return PyLong_FromLong(42); }\n"
    body += 'static PyMethodDef methods[] = {{"answer", answer, METH_NOARGS, NULL}, {NULL}};\n'
    source = module_source(name, body, call).replace(
        f'"{name}", NULL, -1, NULL}}', f'"{name}", NULL, -1, methods}}'
    )
    build = directory / f"build-{name}-{version}"
    build.mkdir(parents=True, exist_ok=True)
    (build / f"{name}.c").write_text(source, encoding="utf-8")
    shared = build / f"{name}{_suffix(python)}"
    argv = ["gcc", "-shared", "-fPIC", "-O1", f"-I{python.include}", "-o", str(shared),
            str(build / f"{name}.c")]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stderr}")
    tag = f"{python_tag or f'{python.abi}-{python.abi}'}-{platform_tag}"
    files = {shared.name: shared.read_bytes()}
    text = metadata if metadata is not None else metadata_text(name, version)
    return _write(
        directory, name=name, version=version, tag=tag, files=files, metadata=text, purelib=False
    )


def _suffix(python: HostPython) -> str:
    return f".cpython-{python.abi[2:]}-x86_64-linux-gnu.so"


def pure_wheel(
    directory: Path,
    name: str,
    metadata: str,
    *,
    version: str = "1.0",
    files: Mapping[str, bytes] | None = None,
) -> Path:
    """A ``py3-none-any`` wheel with ``metadata`` as its METADATA."""
    content = dict(files or {f"{name}/__init__.py": b"VALUE = 1\n"})
    return _write(
        directory,
        name=name,
        version=version,
        tag="py3-none-any",
        files=content,
        metadata=metadata,
        purelib=True,
    )


def tamper(wheel: Path, member_suffix: str, out: Path) -> Path:
    """A copy of ``wheel`` at ``out`` whose member ending with ``member_suffix`` has one byte
    changed while RECORD still has the old hash."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dest:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith(member_suffix):
                data = data[:-1] + bytes([data[-1] ^ 0xFF])
            dest.writestr(info, data)
    return out
