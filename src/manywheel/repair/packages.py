"""Which system package installed a file: what auditwheel's vendored ``whichprovides`` answers for
its SBOM, asked of the audited system (``/`` or ``--root``), never of the machine running the
tool when they differ.

dpkg's and apk's databases are read directly (``var/lib/dpkg/info/*.list`` and ``status``;
``lib/apk/db/installed``): no subprocess, and a Debian or Alpine root is answered from its own
files, found as the loader emulation finds files (symbolic links followed inside the root, never
out of it; only regular files of at most :data:`MAX_DATABASE_SIZE` bytes are read). rpm's
database has no simple text form, so ``rpm -qf`` is run (with ``--root``) when the system has one,
each run bounded by a timeout. The package URL is spelled as ``whichprovides`` spells it:
``pkg:<type>/<os-release ID>/<name>@<version>``.

A database that cannot be read never fails the repair: the path and the reason are logged once as
a warning ("SBOM may be incomplete") and the lookup goes on without it.
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
import shutil
import subprocess
from collections.abc import Collection, Iterator
from typing import Protocol
from urllib.parse import quote

from manywheel.linker import RootFileSystem
from manywheel.values import value_class

__all__ = ["MAX_DATABASE_SIZE", "PackageIndex", "PackageOwner", "SystemPackages"]

logger = logging.getLogger(__name__)

#: The most read of one database file (dpkg's ``status`` is a few MiB on a big system).
MAX_DATABASE_SIZE = 256 << 20
#: Seconds one ``rpm -qf`` may take (a locked database makes rpm wait).
RPM_TIMEOUT = 30.0

#: Top-level directories merged-/usr systems link into /usr (``/lib -> usr/lib``).
_MERGED = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
_PURL_TYPE = re.compile(r"[A-Za-z0-9+.\-]+\Z")
_OS_RELEASE = ("/etc/os-release", "/usr/lib/os-release")
_RPM_DATABASES = ("var/lib/rpm", "usr/lib/sysimage/rpm")
_APK_DATABASES = ("lib/apk/db/installed", "usr/lib/apk/db/installed")


@value_class
class PackageOwner:
    """The installed package a file belongs to."""

    #: The package URL type: ``deb``, ``rpm`` or ``apk``.
    type: str
    name: str
    #: As the package manager gives it (dpkg: ``3.4.4-1``; rpm: ``VERSION-RELEASE``).
    version: str
    #: ``ID`` from the system's os-release (``debian``, ``ubuntu``, ``almalinux``, ``alpine``).
    distro: str | None

    @property
    def purl(self) -> str:
        """``pkg:deb/debian/libffi8@3.4.4-1``: whichprovides's spelling (no qualifiers)."""
        if not _PURL_TYPE.match(self.type):
            raise ValueError(f"not a package URL type: {self.type!r}")
        distro = f"{_quote(self.distro)}/" if self.distro else ""
        name, version = _quote(self.name), _quote(self.version)
        return f"pkg:{self.type.lower()}/{distro}{name}@{version}"


def _quote(text: str) -> str:
    # A name read from a file name may carry surrogate escapes: never an exception here.
    return quote(text, safe="", errors="replace")


class PackageIndex(Protocol):
    """Answers "which package installed this file" for paths on the audited system."""

    def owners(self, paths: Collection[str]) -> dict[str, PackageOwner]:
        """The owner of each of ``paths`` that has one (others are left out)."""
        ...


def parse_os_release(text: str) -> dict[str, str]:
    """``KEY=value`` lines of os-release(5), quotes removed."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            out[key] = value
    return out


class SystemPackages:
    """The package databases of the system at ``root``: dpkg, then rpm, then apk, each asked
    only about the paths the ones before did not claim. Nothing is read until :meth:`owners`;
    nothing is cached between calls. ``rpm`` is looked for on ``path`` (a ``PATH`` value;
    ``None``: the process's); each run of it may take ``rpm_timeout`` seconds."""

    def __init__(
        self,
        root: str | os.PathLike[str] = "/",
        *,
        rpm: str = "rpm",
        path: str | None = None,
        rpm_timeout: float = RPM_TIMEOUT,
    ) -> None:
        self._fs = RootFileSystem(root)
        self._rpm = rpm
        self._path = path
        self._rpm_timeout = rpm_timeout
        self._warned: set[str] = set()

    def owners(self, paths: Collection[str]) -> dict[str, PackageOwner]:
        distro = self.distro()
        if distro is None:  # as whichprovides: no os-release ID, no package URL
            return {}
        found: dict[str, PackageOwner] = {}
        for lookup in (self._dpkg, self._rpm_query, self._apk):
            remaining = [p for p in paths if p not in found]
            if not remaining:
                break
            found.update(lookup(remaining, distro))
        return found

    def distro(self) -> str | None:
        """The system's os-release ``ID``."""
        for name in _OS_RELEASE:
            data = self._fs.read_bytes(name)
            if data is not None:
                return parse_os_release(data.decode("utf-8", "replace")).get("ID") or None
        return None

    def _warn(self, where: str, why: str) -> None:
        message = f"SBOM may be incomplete: {where}: {why}"
        if message not in self._warned:
            self._warned.add(message)
            logger.warning("%s", message)

    def _read(self, path: str, *, missing_ok: bool = False) -> bytes | None:
        """A database file's bytes; ``None`` (and a warning, unless it is absent and
        ``missing_ok``) when it cannot be read."""
        try:
            return self._fs.read_regular(path, limit=MAX_DATABASE_SIZE)
        except FileNotFoundError:
            if not missing_ok:
                self._warn(self._fs.host_path(path), "no such file")
            return None
        except OSError as e:
            self._warn(e.filename or self._fs.host_path(path), e.strerror or str(e))
            return None

    def _aliases(self, path: str) -> Iterator[str]:
        """``path``, then its other spelling on a merged-/usr system (``/usr/lib/x`` and
        ``/lib/x``) when that names the same file: packages list files under the directory
        they were built for, and the library's path is resolved."""
        yield path
        parts = path.lstrip("/").split("/")
        if parts[0] == "usr" and len(parts) > 2 and parts[1] in _MERGED:
            other = "/" + "/".join(parts[1:])
        elif parts[0] in _MERGED:
            other = "/usr/" + "/".join(parts)
        else:
            return
        real = self._fs.resolve(path)
        if real is not None and self._fs.resolve(other) == real:
            yield other

    def _spellings(self, paths: Collection[str]) -> dict[str, list[str]]:
        """Each spelling a database may use -> the asked paths it stands for."""
        out: dict[str, list[str]] = {}
        for path in paths:
            for alias in self._aliases(path):
                out.setdefault(alias, []).append(path)
        return out

    def _dpkg(self, paths: Collection[str], distro: str) -> dict[str, PackageOwner]:
        info = "/var/lib/dpkg/info"
        try:
            names = self._fs.list_directory(info)
        except FileNotFoundError:  # no dpkg here
            return {}
        except OSError as e:
            self._warn(e.filename or self._fs.host_path(info), e.strerror or str(e))
            return {}
        wanted = self._spellings(paths)
        encoded = [os.fsencode(w) for w in wanted]
        owner: dict[str, str] = {}  # path -> "package" or "package:arch" (the .list's name)
        for listing in (n for n in names if n.endswith(".list")):
            data = self._read(f"{info}/{listing}")
            if data is None or not any(w in data for w in encoded):
                continue
            for line in data.split(b"\n"):
                for path in wanted.get(os.fsdecode(line), ()):
                    name = os.fsencode(listing[: -len(".list")]).decode("utf-8", "replace")
                    owner.setdefault(path, name)
        if not owner:
            return {}
        versions = dpkg_versions(self._read("/var/lib/dpkg/status") or b"")
        out = {}
        for path, qualified in owner.items():
            name, _, arch = qualified.partition(":")
            version = versions.get((name, arch)) or versions.get((name, ""))
            if version is not None:
                out[path] = PackageOwner("deb", name, version, distro)
        return out

    def _rpm_query(self, paths: Collection[str], distro: str) -> dict[str, PackageOwner]:
        if not any(self._fs.is_directory(d) for d in _RPM_DATABASES):
            return {}
        rpm = shutil.which(self._rpm, path=self._path)
        if rpm is None:  # no rpm here: the database cannot be read
            return {}
        root = [] if self._fs.root == "/" else ["--root", self._fs.root]
        argv = [rpm, *root, "-qf", "--queryformat", "%{NAME} %{VERSION} %{RELEASE}\n"]
        out: dict[str, PackageOwner] = {}
        for path in paths:
            for alias in self._aliases(path):
                try:
                    done = subprocess.run(
                        [*argv, alias],
                        capture_output=True,
                        check=False,
                        timeout=self._rpm_timeout,
                    )
                except subprocess.TimeoutExpired:
                    self._warn(rpm, f"no answer within {self._rpm_timeout:g} s (database locked?)")
                    return out
                except OSError as e:
                    self._warn(rpm, e.strerror or str(e))
                    return out
                fields = done.stdout.decode("utf-8", "replace").split("\n", 1)[0].split()
                if done.returncode == 0 and len(fields) == 3:
                    name, version, release = fields
                    out[path] = PackageOwner("rpm", name, f"{version}-{release}", distro)
                    break
        return out

    def _apk(self, paths: Collection[str], distro: str) -> dict[str, PackageOwner]:
        wanted = self._spellings(paths)
        out: dict[str, PackageOwner] = {}
        for database in _APK_DATABASES:
            data = self._read(database, missing_ok=True)
            if data is None:
                continue
            for name, version, files in apk_packages(data.decode("utf-8", "replace")):
                for file in files:
                    for path in wanted.get(file, ()):
                        out.setdefault(path, PackageOwner("apk", name, version, distro))
            break
        return out


def dpkg_versions(data: bytes) -> dict[tuple[str, str], str]:
    """(package, architecture) and (package, "") -> version, from dpkg's ``status`` file
    (any bytes: text that is not UTF-8 is replaced, stanzas without both fields skipped)."""
    out: dict[tuple[str, str], str] = {}
    for stanza in data.decode("utf-8", "replace").split("\n\n"):
        fields = {}
        for line in stanza.splitlines():
            key, sep, value = line.partition(": ")
            if sep and key in {"Package", "Architecture", "Version"}:
                fields[key] = value.strip()
        name, version = fields.get("Package"), fields.get("Version")
        if name and version:
            out[(name, fields.get("Architecture", ""))] = version
            out.setdefault((name, ""), version)
    return out


def apk_packages(text: str) -> Iterator[tuple[str, str, list[str]]]:
    """(name, version, absolute file paths) of each package in apk's ``installed`` database:
    blank-line separated stanzas of ``P:`` name, ``V:`` version, ``F:`` directory, ``R:`` file."""
    for stanza in text.split("\n\n"):
        name = version = ""
        directory = ""
        files: list[str] = []
        for line in stanza.splitlines():
            key, value = line[:2], line[2:]
            if key == "P:":
                name = value
            elif key == "V:":
                version = value
            elif key == "F:":
                directory = value
            elif key == "R:":
                files.append(posixpath.join("/", directory, value))
        if name and version:
            yield name, version, files
