"""Tiny gcc-built extension wheels: a C source, the host's Python headers, a minimal wheel writer.

For tests that need an extension with a known set of symbols and a chosen tag (say, one that calls
``pthread_create`` — ``GLIBC_2.34`` on the host — tagged ``manylinux_2_34``). ~0.3 s per wheel.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import zipfile
from pathlib import Path

from tests.harness.sdists import HostPython

__all__ = ["build_extension_wheel", "module_source", "write_wheel"]


def module_source(module: str, body: str = "", call: str = "") -> str:
    """C source of extension ``module`` whose init runs ``call`` (a C statement) after ``body``."""
    return f"""#include <Python.h>
{body}
static struct PyModuleDef def = {{PyModuleDef_HEAD_INIT, "{module}", NULL, -1, NULL}};
PyMODINIT_FUNC PyInit_{module}(void) {{
    {call}
    return PyModule_Create(&def);
}}
"""


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def write_wheel(
    directory: Path,
    distribution: str,
    version: str,
    tag: str,
    files: dict[str, bytes],
    *,
    metadata: str = "",
    metadata_version: str = "2.1",
) -> Path:
    """Write ``<distribution>-<version>-<tag>.whl`` holding ``files`` plus valid dist-info;
    ``metadata`` adds header lines to METADATA (``"Requires-Dist: x\\n"``)."""
    dist_info = f"{distribution}-{version}.dist-info"
    members = dict(files)
    members[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: {metadata_version}\nName: {distribution}\nVersion: {version}\n"
        f"{metadata}"
    ).encode()
    members[f"{dist_info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: manywheel-tests\nRoot-Is-Purelib: false\nTag: {tag}\n"
    ).encode()
    record = [_record_line(name, data) for name, data in members.items()]
    members[f"{dist_info}/RECORD"] = ("\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n").encode()
    wheel = directory / f"{distribution}-{version}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return wheel


def build_extension_wheel(
    directory: Path, python: HostPython, module: str, source: str, *, platform_tag: str
) -> Path:
    """Compile ``source`` as extension ``module`` for ``python``; wheel tagged ``platform_tag``."""
    c_file = directory / f"{module}.c"
    c_file.write_text(source, encoding="utf-8")
    shared = directory / f"{module}.so"
    argv = ["gcc", "-shared", "-fPIC", "-O1", f"-I{python.include}", "-o", str(shared), str(c_file)]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{result.stderr}")
    tag = f"{python.abi}-{python.abi}-{platform_tag}"
    return write_wheel(directory, module, "1.0", tag, {f"{module}.so": shared.read_bytes()})
