"""The SBOM a repair adds when grafted libraries come from system packages: a CycloneDX 1.4
document at ``<dist-info>/sboms/auditwheel.cdx.json``, the document auditwheel 6.8 writes (the
same name, shape, components and package URLs), naming manywheel as the tool.

The wheel is the main component (``pkg:pypi/<name>@<version>?file_name=<repaired wheel>``); each
grafted library a system package owns is a component with that package's URL, its ``bom-ref``
the URL plus ``#`` and the sha256 of the library's path on the system as auditwheel's lddtree
spells it (:func:`auditwheel_path`), and the wheel depends on each. No owned library, no
document. The bytes are auditwheel's (``json.dumps`` of the document: compact, in insertion
order, no final newline) but for the tool, and deterministic: components in (package URL, path)
order, no timestamps.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from manywheel.linker import RootFileSystem
from manywheel.repair.packages import PackageOwner
from manywheel.wheel import WheelFilename

__all__ = ["SBOM_NAME", "auditwheel_path", "sbom_bytes", "sbom_document", "sbom_member"]

#: The file's name in ``<dist-info>/sboms/`` (auditwheel's, so a wheel repaired again keeps one).
SBOM_NAME = "auditwheel.cdx.json"


def sbom_member(dist_info: str) -> str:
    """The SBOM's path in a wheel whose ``.dist-info`` directory is ``dist_info``."""
    return f"{dist_info}/sboms/{SBOM_NAME}"


def auditwheel_path(fs: RootFileSystem, path: str) -> str:
    """The spelling of the library the loader opens at ``path`` that auditwheel's lddtree
    reports: only the last component's symbolic links followed, each target joined to the
    link's directory as written (``/lib/x86_64-linux-gnu/libffi.so.8`` ->
    ``/lib/x86_64-linux-gnu/libffi.so.8.1.2`` on a merged-/usr Debian, although the file is
    ``/usr/lib/...``). The bom-ref hashes this path, so the same graft gets auditwheel's."""
    for _ in range(40):  # Linux's MAXSYMLINKS; lddtree loops on a cycle, this stops
        try:
            target = str(Path(fs.host_path(path)).readlink())
        except OSError:
            break
        path = posixpath.join(posixpath.dirname(path), target)
    return posixpath.normpath(path)


def _wheel_purl(filename: WheelFilename) -> str:
    name, version = quote(filename.name, safe=""), quote(filename.version, safe="")
    return f"pkg:pypi/{name}@{version}?file_name={quote(filename.raw, safe='')}"


def _component(ref: str, name: str, version: str, purl: str) -> dict[str, str]:
    return {"type": "library", "bom-ref": ref, "name": name, "version": version, "purl": purl}


def sbom_document(
    filename: WheelFilename,
    owners: Mapping[str, PackageOwner],
    *,
    tool: tuple[str, str],
) -> dict[str, Any] | None:
    """The document for the wheel ``filename`` (the repaired wheel's name) whose grafted
    libraries at the paths in ``owners`` come from those packages; ``None`` when ``owners`` is
    empty. ``tool`` is the (name, version) in ``metadata.tools``."""
    if not owners:
        return None
    purl = _wheel_purl(filename)
    wheel = _component(purl, filename.name, filename.version, purl)
    components = [wheel]
    depends: list[str] = []
    dependencies: list[dict[str, Any]] = [{"ref": purl, "dependsOn": depends}]
    for path, owner in sorted(owners.items(), key=lambda item: (item[1].purl, item[0])):
        digest = hashlib.sha256(path.encode(errors="ignore")).hexdigest()
        ref = f"{owner.purl}#{digest}"
        components.append(_component(ref, owner.name, owner.version, owner.purl))
        depends.append(ref)
        dependencies.append({"ref": ref})
    name, version = tool
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.4",
        "version": 1,
        "metadata": {"component": wheel, "tools": [{"name": name, "version": version}]},
        "components": components,
        "dependencies": dependencies,
    }


def sbom_bytes(document: Mapping[str, Any]) -> bytes:
    """The document as auditwheel writes it: ``json.dumps`` (compact, ASCII, insertion order,
    no final newline), UTF-8."""
    return json.dumps(document).encode("utf-8")
