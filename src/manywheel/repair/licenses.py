"""The license texts of the libraries a repair grafts (PEP 639): copied under the wheel's
``.dist-info/licenses/`` and, when the metadata can say so, listed as ``License-File``.

Where a text comes from:

- a library a system package owns: that package's license files, asked of the audited system
  (``/`` or ``--root``): dpkg's ``/usr/share/doc/<package>/copyright``; rpm's files marked
  ``%license`` (``rpm -qL``); apk's ``/usr/share/licenses/<package>/`` when installed (Alpine
  ships most texts in ``-doc`` packages: the ``L:`` expression alone is no text);
- a library the user built: ``--license-file GLOB=PATH`` (the soname or the path of the graft
  matches GLOB; repeatable; it wins over the package's files).

Layout: ``<dist-info>/licenses/<lib dir>/<package or soname>/<file>`` (``mypkg.libs/libffi8/
copyright``), beside the project's own license files and never in their way.

Metadata (decided, documented in docs/licenses.md): ``Metadata-Version`` 2.4 or later gets one
``License-File`` line per text (PEP 639), added after the headers the project wrote, which stay
byte for byte. Older metadata is left exactly as written: ``License-File`` does not exist
before 2.4 (packaging's validation, which twine runs, rejects it there), and raising the version
would make the older fields say something else (a setuptools 2.1/2.2 ``License-File: LICENSE``
names ``.dist-info/LICENSE``, which 2.4 reads as ``.dist-info/licenses/LICENSE``). The texts
still ship in ``licenses/``; the report says they are not listed and why.
"""

from __future__ import annotations

import fnmatch
import logging
import posixpath
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from manywheel.errors import InputError
from manywheel.linker import RootFileSystem
from manywheel.repair.options import UserLicense
from manywheel.repair.packages import PackageOwner
from manywheel.repair.plan import RepairPlan
from manywheel.values import value_class

__all__ = [
    "LicenseFile",
    "LicenseIndex",
    "LicensePlan",
    "SystemLicenses",
    "license_plan",
    "metadata_version",
    "with_license_files",
]

logger = logging.getLogger(__name__)

#: The most read of one license file.
MAX_LICENSE_SIZE = 4 << 20
RPM_TIMEOUT = 30.0
#: PEP 639: License-File exists from Metadata-Version 2.4 on.
LICENSE_FILE_VERSION = (2, 4)
_SAFE = re.compile(r"[^A-Za-z0-9._+-]")


@value_class
class LicenseFile:
    """One license text added to the wheel."""

    #: Its path in the wheel (``<dist-info>/licenses/...``).
    member: str
    #: Where it was read: a path on the audited system, or the path the user gave.
    source: str
    #: The package it comes from (``None``: given by the user).
    package: PackageOwner | None
    #: The grafted libraries (their sources) it covers.
    libraries: tuple[str, ...]
    data: bytes


@value_class
class LicensePlan:
    files: tuple[LicenseFile, ...] = ()
    #: Grafted libraries (their sources) with no license text found.
    missing: tuple[str, ...] = ()
    #: The new METADATA bytes (``None``: unchanged).
    metadata: bytes | None = None
    #: Why the texts are not listed in METADATA (``None``: listed, or none to list).
    note: str | None = None

    @property
    def members(self) -> dict[str, bytes]:
        return {f.member: f.data for f in self.files}


@runtime_checkable
class LicenseIndex(Protocol):
    """Answers "which files hold the license of this installed package"."""

    def license_files(self, owner: PackageOwner) -> tuple[str, ...]:
        """Paths on the audited system (they may be absent; they are read later)."""
        ...


class SystemLicenses:
    """The license files of packages on the system at ``root`` (see the module's doc)."""

    def __init__(
        self,
        root: str = "/",
        *,
        rpm: str = "rpm",
        path: str | None = None,
        rpm_timeout: float = RPM_TIMEOUT,
    ) -> None:
        self._fs = RootFileSystem(root)
        self._rpm, self._path, self._timeout = rpm, path, rpm_timeout

    def license_files(self, owner: PackageOwner) -> tuple[str, ...]:
        if owner.type == "deb":
            return (f"/usr/share/doc/{owner.name}/copyright",)
        if owner.type == "apk":
            directory = f"/usr/share/licenses/{owner.name}"
            try:
                names = self._fs.list_directory(directory)
            except OSError:
                return ()
            return tuple(f"{directory}/{n}" for n in names)
        if owner.type == "rpm":
            return self._rpm_licenses(owner.name)
        return ()

    def _rpm_licenses(self, name: str) -> tuple[str, ...]:
        rpm = shutil.which(self._rpm, path=self._path)
        if rpm is None:
            return ()
        root = [] if self._fs.root == "/" else ["--root", self._fs.root]
        try:
            done = subprocess.run(
                [rpm, *root, "-qL", name], capture_output=True, check=False, timeout=self._timeout
            )
        except (subprocess.TimeoutExpired, OSError) as e:
            logger.warning("license texts may be incomplete: %s -qL %s: %s", rpm, name, e)
            return ()
        lines = done.stdout.decode("utf-8", "replace").splitlines()
        return tuple(line for line in lines if line.startswith("/")) if done.returncode == 0 else ()


def metadata_version(metadata: bytes) -> tuple[int, int] | None:
    """``Metadata-Version`` of a METADATA file (``None`` when absent or unreadable)."""
    for raw in metadata.split(b"\n"):
        line = raw.rstrip(b"\r")
        if not line:
            break
        key, sep, value = line.partition(b":")
        if sep and key.strip().lower() == b"metadata-version":
            match = re.match(rb"\s*(\d+)\.(\d+)", value)
            return (int(match.group(1)), int(match.group(2))) if match else None
    return None


def listed_license_files(metadata: bytes) -> set[str]:
    out = set()
    for line in _headers(metadata)[0].split(b"\n"):
        key, sep, value = line.rstrip(b"\r").partition(b":")
        if sep and key.strip().lower() == b"license-file":
            out.add(value.strip().decode("utf-8", "replace"))
    return out


def _headers(metadata: bytes) -> tuple[bytes, bytes, bytes]:
    """(header block, separator, body): the block ends at the first empty line."""
    ends = [(i, s) for s in (b"\r\n\r\n", b"\n\n") if (i := metadata.find(s)) >= 0]
    if not ends:
        stripped = metadata.rstrip(b"\r\n")
        return stripped, metadata[len(stripped) :] or b"\n", b""
    index, sep = min(ends)
    return metadata[:index], sep, metadata[index + len(sep) :]


def with_license_files(metadata: bytes, paths: Sequence[str]) -> bytes:
    """``metadata`` with a ``License-File`` line for each of ``paths`` not yet listed, after
    the existing headers (which stay byte for byte), before the description."""
    listed = listed_license_files(metadata)
    new = [p for p in dict.fromkeys(paths) if p not in listed]
    if not new:
        return metadata
    head, sep, body = _headers(metadata)
    newline = b"\r\n" if head.endswith(b"\r") or b"\r\n" in head else b"\n"
    lines = b"".join(newline + f"License-File: {p}".encode() for p in new)
    return head + lines + sep + body


def _component(text: str) -> str:
    return _SAFE.sub("_", text) or "_"


def _user_licenses(
    plan: RepairPlan, user: Sequence[UserLicense]
) -> dict[str, list[tuple[str, str]]]:
    """Graft source -> [(label, path)] from ``--license-file``."""
    out: dict[str, list[tuple[str, str]]] = {}
    for graft in plan.grafts:
        for entry in user:
            names = (*graft.sonames, graft.source, posixpath.basename(graft.source))
            if any(fnmatch.fnmatchcase(n, entry.pattern) for n in names):
                out.setdefault(graft.source, []).append((graft.sonames[0], entry.path))
    return out


def _read_user(path: str) -> bytes:
    file = Path(path)
    try:
        if not file.is_file():
            raise InputError("--license-file: no such file", path=path)
        if file.stat().st_size > MAX_LICENSE_SIZE:
            raise InputError(f"--license-file: larger than {MAX_LICENSE_SIZE} bytes", path=path)
        return file.read_bytes()
    except OSError as e:
        raise InputError(f"--license-file: {e.strerror or e}", path=path) from e


def license_plan(
    plan: RepairPlan,
    *,
    dist_info: str,
    metadata: bytes,
    owners: Mapping[str, PackageOwner],
    index: LicenseIndex | None,
    root: str = "/",
    user: Sequence[UserLicense] = (),
) -> LicensePlan:
    """The license texts for ``plan``'s grafts: ``owners`` maps a graft's source to its
    package (what the SBOM found), ``index`` says where each package keeps its texts, and
    ``user`` overrides both. Nothing is written here."""
    if not plan.grafts:
        return LicensePlan()
    fs = RootFileSystem(root)
    libs = posixpath.dirname(plan.grafts[0].member) or "libs"
    found: dict[str, LicenseFile] = {}
    missing: list[str] = []
    given = _user_licenses(plan, user)
    for graft in plan.grafts:
        texts: list[tuple[str, str, PackageOwner | None, bytes]] = []
        for label, path in given.get(graft.source, []):
            texts.append((label, path, None, _read_user(path)))
        owner = owners.get(graft.source)
        if not texts and owner is not None and index is not None:
            for path in index.license_files(owner):
                data = _read_system(fs, path)
                if data is not None:
                    texts.append((owner.name, path, owner, data))
        if not texts:
            missing.append(graft.source)
        for label, path, package, data in texts:
            member = f"{dist_info}/licenses/{libs}/{_component(label)}/{_file_name(path, package)}"
            known = found.get(member)
            covered = (*known.libraries, graft.source) if known else (graft.source,)
            found[member] = LicenseFile(member, path, package, covered, data)
    return _with_metadata(tuple(found.values()), tuple(missing), metadata, dist_info)


def _file_name(path: str, package: PackageOwner | None) -> str:
    """The text's name in the wheel: its base name; below an rpm/apk package's own license
    directory, its path there (two ``LICENSE`` files in different subdirectories)."""
    if package is not None:
        prefix = f"/usr/share/licenses/{package.name}/"
        if path.startswith(prefix):
            return "/".join(_component(p) for p in path[len(prefix) :].split("/") if p)
    return _component(posixpath.basename(path))


def _read_system(fs: RootFileSystem, path: str) -> bytes | None:
    try:
        return fs.read_regular(path, limit=MAX_LICENSE_SIZE)
    except OSError as e:
        if not isinstance(e, FileNotFoundError):
            logger.warning("license text not read: %s: %s", e.filename or path, e.strerror or e)
        return None


def _with_metadata(
    files: tuple[LicenseFile, ...], missing: tuple[str, ...], metadata: bytes, dist_info: str
) -> LicensePlan:
    if not files:
        return LicensePlan(files, missing)
    version = metadata_version(metadata)
    if version is None or version < LICENSE_FILE_VERSION:
        spelled = "none" if version is None else f"{version[0]}.{version[1]}"
        note = (
            f"Metadata-Version {spelled} predates License-File (2.4, PEP 639): the license "
            f"texts are in {dist_info}/licenses/ but not listed, and METADATA is left as "
            "the project wrote it"
        )
        return LicensePlan(files, missing, None, note)
    prefix = f"{dist_info}/licenses/"
    paths = [f.member[len(prefix) :] for f in files]
    return LicensePlan(files, missing, with_license_files(metadata, paths))
