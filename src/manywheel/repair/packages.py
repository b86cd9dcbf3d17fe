"""Which system package installed a file: what auditwheel's vendored ``whichprovides`` answers for
its SBOM, asked of the audited system (``/`` or ``--root``), never of the machine running the
tool when they differ.

dpkg's and apk's databases are read directly (``var/lib/dpkg/info/*.list`` and ``status``;
``lib/apk/db/installed``): no subprocess, and a Debian or Alpine root is answered from its own
files. rpm's database has no simple text form, so ``rpm -qf`` is run (with ``--root``) when the
system has one. The package URL is spelled as ``whichprovides`` spells it:
``pkg:<type>/<os-release ID>/<name>@<version>``.
"""

from __future__ import annotations

import os
import posixpath
import re
import subprocess
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from manywheel.linker import RootFileSystem

__all__ = ["PackageIndex", "PackageOwner", "SystemPackages"]

#: Top-level directories merged-/usr systems link into /usr (``/lib -> usr/lib``).
_MERGED = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
_PURL_TYPE = re.compile(r"[A-Za-z0-9+.\-]+\Z")
_OS_RELEASE = ("/etc/os-release", "/usr/lib/os-release")
_RPM_DATABASES = ("var/lib/rpm", "usr/lib/sysimage/rpm")
_APK_DATABASES = ("lib/apk/db/installed", "usr/lib/apk/db/installed")


@dataclass(frozen=True, slots=True)
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
        distro = f"{quote(self.distro, safe='')}/" if self.distro else ""
        name, version = quote(self.name, safe=""), quote(self.version, safe="")
        return f"pkg:{self.type.lower()}/{distro}{name}@{version}"


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
    nothing is cached between calls."""

    def __init__(self, root: str | os.PathLike[str] = "/", *, rpm: str = "rpm") -> None:
        self._fs = RootFileSystem(root)
        self._rpm = rpm

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

    def _host(self, path: str) -> Path:
        return Path(self._fs.host_path(path))

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
        info = self._host("/var/lib/dpkg/info")
        if not info.is_dir():
            return {}
        wanted = self._spellings(paths)
        owner: dict[str, str] = {}  # path -> "package" or "package:arch" (the .list's name)
        for listing in sorted(info.glob("*.list")):
            data = listing.read_bytes()
            if not any(os.fsencode(w) in data for w in wanted):
                continue
            for line in data.split(b"\n"):
                for path in wanted.get(os.fsdecode(line), ()):
                    owner.setdefault(path, listing.name[: -len(".list")])
        versions = self._dpkg_versions()
        out = {}
        for path, qualified in owner.items():
            name, _, arch = qualified.partition(":")
            version = versions.get((name, arch)) or versions.get((name, ""))
            if version is not None:
                out[path] = PackageOwner("deb", name, version, distro)
        return out

    def _dpkg_versions(self) -> dict[tuple[str, str], str]:
        """(package, architecture) and (package, "") -> version, from dpkg's status file."""
        try:
            text = self._host("/var/lib/dpkg/status").read_text("utf-8", "replace")
        except OSError:
            return {}
        out: dict[tuple[str, str], str] = {}
        for stanza in text.split("\n\n"):
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

    def _rpm_query(self, paths: Collection[str], distro: str) -> dict[str, PackageOwner]:
        if not any(self._host(d).is_dir() for d in _RPM_DATABASES):
            return {}
        root = [] if self._fs.root == "/" else ["--root", self._fs.root]
        out: dict[str, PackageOwner] = {}
        for path in paths:
            for alias in self._aliases(path):
                argv = [self._rpm, *root, "-qf", "--queryformat", "%{NAME} %{VERSION} %{RELEASE}\n"]
                try:
                    done = subprocess.run(
                        [*argv, alias], capture_output=True, text=True, check=False
                    )
                except OSError:  # no rpm here: the database cannot be read
                    return out
                fields = done.stdout.split("\n", 1)[0].split()
                if done.returncode == 0 and len(fields) == 3:
                    name, version, release = fields
                    out[path] = PackageOwner("rpm", name, f"{version}-{release}", distro)
                    break
        return out

    def _apk(self, paths: Collection[str], distro: str) -> dict[str, PackageOwner]:
        wanted = self._spellings(paths)
        out: dict[str, PackageOwner] = {}
        for database in _APK_DATABASES:
            try:
                text = self._host(database).read_text("utf-8", "surrogateescape")
            except OSError:
                continue
            for name, version, files in _apk_packages(text):
                for file in files:
                    for path in wanted.get(file, ()):
                        out.setdefault(path, PackageOwner("apk", name, version, distro))
            break
        return out


def _apk_packages(text: str) -> Iterator[tuple[str, str, list[str]]]:
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
