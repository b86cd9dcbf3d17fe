"""apt in Debian roots: the host's mirror, apt's settings inside a root, installing packages and
fetching a source package's upstream tarball.

Mirrors that serve a snapshot (as here) carry Release files past their Valid-Until date, so
roots tell apt not to check it (signatures are still checked); no recommends keeps roots
minimal. Without root, apt runs in a user namespace, where its download sandbox user does not
exist: it is turned off there.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterable, Sequence
from pathlib import Path

from manywheel.build.roots_errors import RootCommandError
from manywheel.build.roots_run import run_in_root

__all__ = [
    "APT_CONF",
    "APT_CONF_PATH",
    "apt_install",
    "host_debian_mirror",
    "source_download_script",
]

APT_CONF = """\
Acquire::Check-Valid-Until "false";
Acquire::Retries "3";
APT::Install-Recommends "false";
APT::Install-Suggests "false";
"""
APT_CONF_PATH = "etc/apt/apt.conf.d/99manywheel"
_TIMEOUT = 3600.0


_DEBIAN_SUITE = re.compile(r"^(buster|bullseye|bookworm|trixie|forky|sid|stable|testing)(-.*)?$")


def _suite_entries(text: str) -> Iterable[tuple[str, list[str]]]:
    """(URI, suites) of each ``deb`` source in a one-line ``.list`` or deb822 ``.sources`` text."""
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if stripped.startswith("deb "):
                words = re.sub(r"\[[^]]*\]", "", stripped).split()
                if len(words) >= 3:
                    yield words[1], [words[2]]
            elif ":" in stripped:
                key, _, value = stripped.partition(":")
                fields[key.strip().lower()] = value.strip()
        if "deb" in fields.get("types", "").split() and fields.get("enabled", "yes") != "no":
            for uri in fields.get("uris", "").split():
                yield uri, fields.get("suites", "").split()


def host_debian_mirror(apt_dir: Path = Path("/etc/apt")) -> str | None:
    """The Debian archive mirror the host's apt sources name (not its security mirror), if any."""
    files = [apt_dir / "sources.list"]
    for pattern in ("*.list", "*.sources"):
        files += sorted((apt_dir / "sources.list.d").glob(pattern))
    for path in files:
        if not path.is_file():
            continue
        for uri, suites in _suite_entries(path.read_text(encoding="utf-8", errors="replace")):
            debian = [s for s in suites if _DEBIAN_SUITE.match(s) and "security" not in s]
            if debian and "security" not in uri:
                return uri.rstrip("/")
    return None


def apt_install(root: Path, packages: Sequence[str], *, what: str) -> None:
    """``apt-get update`` and ``apt-get install`` ``packages`` inside ``root`` (as root, or as
    root in a user namespace: apt's download sandbox user is then turned off)."""
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    sandbox = [] if os.geteuid() == 0 else ["-o", "APT::Sandbox::User=root"]
    steps = [["apt-get", *sandbox, "update", "-q"]]
    if packages:
        steps.append(["apt-get", *sandbox, "install", "-y", "-q", *packages])
    steps.append(["apt-get", "clean"])
    for argv in steps:
        result = run_in_root(root, argv, env=env, timeout=_TIMEOUT)
        if result.returncode != 0:
            raise RootCommandError(
                f"{what}: {' '.join(argv)} failed (exit {result.returncode})",
                tail=result.stdout + result.stderr,
            )


def source_download_script(package: str) -> str:
    """Shell that leaves ``package``'s ``.orig`` tarball in the current directory and its name
    in ``$source``: every version apt knows, newest first, until one downloads (a mirror may
    lack some files of a version; only the upstream tarball is needed)."""
    p = shlex.quote(package)
    return f"""\
source=
for version in $(apt-cache showsrc {p} | sed -n 's/^Version: //p' | sort -urV); do
    apt-get source --download-only {p}="$version" || true
    upstream=${{version#*:}}; upstream=${{upstream%-*}}
    for candidate in {p}_"$upstream".orig.tar.*; do
        case $candidate in *.asc) continue;; esac
        [ -f "$candidate" ] && source=$candidate && break 2
    done
done
[ -n "$source" ] || {{ echo "manywheel: no source of {p} could be downloaded" >&2; exit 1; }}
"""
