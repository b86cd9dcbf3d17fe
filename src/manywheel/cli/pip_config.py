"""The package index pip is configured with, read as pip reads it: its configuration files
(global, then user, then site — later ones win — or only ``PIP_CONFIG_FILE``'s instead of the
user's; none at all when that is the null device), sections ``[global]`` then ``[install]``, and
the ``PIP_*`` environment variables over them. Read here, in the CLI, and passed down."""

from __future__ import annotations

import configparser
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PYPI", "PipIndexConfig", "pip_config_files", "read_pip_config"]

PYPI = "https://pypi.org/simple"
_SECTIONS = ("global", "install")
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True, slots=True)
class PipIndexConfig:
    index_url: str = PYPI
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    #: pip's ``cert``: the CA bundle for HTTPS.
    cert: str | None = None
    timeout: float | None = None
    #: The configuration files that existed and were read, in order.
    files: tuple[str, ...] = ()


def pip_config_files(environ: Mapping[str, str]) -> list[Path]:
    """The files pip would read, in the order it reads them (later ones win)."""
    home = Path(environ.get("HOME") or Path.home())
    env_file = environ.get("PIP_CONFIG_FILE")
    if env_file == os.devnull:
        return []
    dirs = environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    files = [Path(d) / "pip" / "pip.conf" for d in dirs.split(":") if d]
    files.append(Path("/etc/pip.conf"))
    if not (env_file and Path(env_file).exists()):
        config_home = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
        files += [home / ".pip" / "pip.conf", config_home / "pip" / "pip.conf"]
    files.append(Path(sys.prefix) / "pip.conf")
    if env_file:
        files.append(Path(env_file))
    return files


def _split(value: str) -> tuple[str, ...]:
    return tuple(value.split())


def read_pip_config(environ: Mapping[str, str]) -> PipIndexConfig:
    """pip's index settings from its files and ``environ``. An unreadable file is skipped, as
    pip would fail on it but a survey can still use the rest."""
    values: dict[str, str] = {}
    read: list[str] = []
    for path in pip_config_files(environ):
        parser = configparser.RawConfigParser()
        try:
            if not parser.read(path, encoding="utf-8"):
                continue
        except (configparser.Error, UnicodeDecodeError, OSError):
            continue
        read.append(str(path))
        for section in _SECTIONS:
            if parser.has_section(section):
                values.update({k.replace("_", "-"): v for k, v in parser.items(section)})
    for key, value in environ.items():
        if key.startswith("PIP_"):
            values[key[4:].lower().replace("_", "-")] = value
    timeout = values.get("timeout", values.get("default-timeout"))
    return PipIndexConfig(
        index_url=values.get("index-url", "").strip() or PYPI,
        extra_index_urls=_split(values.get("extra-index-url", "")),
        find_links=_split(values.get("find-links", "")),
        no_index=values.get("no-index", "").strip().lower() in _TRUE,
        cert=values.get("cert", "").strip() or None,
        timeout=_float(timeout),
        files=tuple(read),
    )


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None
