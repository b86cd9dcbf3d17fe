"""Reading ``[tool.manywheel]`` and ``[tool.cibuildwheel]`` from a TOML file, and what the
project's own metadata says (``requires-python``, ``[dependency-groups]``).

``[tool.manywheel]`` is manywheel's own table and is read strictly: an unknown key is an error
(a typo such as ``test-comand`` would otherwise publish wheels that were never tested).
``[tool.cibuildwheel]`` belongs to cibuildwheel: the keys manywheel carries over are read, the
cibuildwheel keys it has no use for on Linux are ignored, and an unknown key is a warning (a
newer cibuildwheel may know it). Malformed structure — an override without ``select``, a bad
``inherit`` rule, a value of the wrong type — is an error in both, as it is in cibuildwheel.
"""

from __future__ import annotations

import ast
import configparser
import difflib
import logging
import sys
from collections.abc import Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from manywheel.build.config_formats import Inherit
from manywheel.build.config_options import (
    CIBUILDWHEEL_IGNORED,
    CIBUILDWHEEL_PLATFORMS,
    OPTIONS,
    Scope,
)
from manywheel.errors import ManywheelError
from manywheel.values import value_class

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "ConfigError",
    "ConfigFile",
    "Override",
    "Table",
    "read_config_file",
    "requires_python_of",
    "resolve_dependency_groups",
]

logger = logging.getLogger(__name__)

#: A configuration file bigger than this is refused (a pyproject.toml is a few KiB).
MAX_CONFIG_BYTES = 4 * 2**20


class ConfigError(ManywheelError):
    """The configuration cannot be used: a bad value, type or key (exit code 2)."""


@value_class
class Override:
    """One ``[[tool.<table>.overrides]]`` entry."""

    select: str
    values: Mapping[str, object]
    inherit: Mapping[str, Inherit]
    where: str


@value_class
class Table:
    """``[tool.manywheel]`` or ``[tool.cibuildwheel]`` (with its ``linux`` section)."""

    name: str
    values: Mapping[str, object]
    where: str
    #: ``[tool.cibuildwheel.linux]``: replaces the table's values on Linux.
    linux: Mapping[str, object] = field(default_factory=dict)
    overrides: tuple[Override, ...] = ()


@value_class
class ConfigFile:
    path: Path | None
    manywheel: Table | None
    cibuildwheel: Table | None
    warnings: tuple[str, ...] = ()


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_CONFIG_BYTES + 1)
    except OSError as e:
        raise ConfigError(f"cannot read: {e.strerror or e}", path=str(path)) from e
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"bigger than {MAX_CONFIG_BYTES} bytes", path=str(path))
    try:
        document: dict[str, Any] = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"not valid TOML: {e}", path=str(path)) from e
    return document


def load_toml(path: Path) -> dict[str, Any] | None:
    """The document at ``path``, ``None`` when there is no such file."""
    if not path.is_file():
        return None
    return _load_toml(path)


def read_config_file(path: Path | None) -> ConfigFile:
    """The two tables of the file at ``path`` (``None`` or missing: neither)."""
    document = None if path is None else load_toml(path)
    if document is None:
        return ConfigFile(path, None, None)
    tool = document.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError("[tool] must be a table", path=str(path))
    warnings: list[str] = []
    try:
        manywheel = _table(tool, "manywheel", strict=True, warnings=warnings)
        cibuildwheel = _table(tool, "cibuildwheel", strict=False, warnings=warnings)
    except ConfigError as e:
        raise ConfigError(e.message, path=str(path)) from e
    for warning in warnings:
        logger.warning("%s: %s", path, warning)
    return ConfigFile(path, manywheel, cibuildwheel, tuple(f"{path}: {w}" for w in warnings))


def _table(
    tool: Mapping[str, Any], name: str, *, strict: bool, warnings: list[str]
) -> Table | None:
    raw = tool.get(name)
    if raw is None:
        return None
    label = f"[tool.{name}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{label} must be a table")
    values: dict[str, object] = {}
    linux: dict[str, object] = {}
    for key, value in raw.items():
        if key == "overrides":
            continue
        if not strict and key in CIBUILDWHEEL_PLATFORMS:
            if key == "linux":
                linux = _section(value, f"[tool.{name}.linux]", strict, warnings)
            continue
        if _known(key, label, strict, warnings):
            values[key] = value
    overrides = _overrides(raw.get("overrides"), name, strict, warnings)
    return Table(name, values, label, linux, overrides)


def _section(raw: object, label: str, strict: bool, warnings: list[str]) -> dict[str, object]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{label} must be a table")
    return {k: v for k, v in raw.items() if _known(k, label, strict, warnings)}


def _known(key: str, label: str, strict: bool, warnings: list[str]) -> bool:
    """Whether ``key`` is an option read from ``label``; unknown keys are refused or warned."""
    option = OPTIONS.get(key)
    if option is not None and option.file and (strict or option.cibuildwheel):
        return True
    if not strict and key in CIBUILDWHEEL_IGNORED:
        logger.debug("%s %s: a cibuildwheel option manywheel does not use on Linux", label, key)
        return False
    names = [n for n, o in OPTIONS.items() if o.file]
    close = difflib.get_close_matches(key, names, 1, 0.7)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    message = f"{label} {key}: unknown option{hint}"
    if strict:
        raise ConfigError(message)
    warnings.append(f"{message}; ignored")
    return False


def _overrides(raw: object, name: str, strict: bool, warnings: list[str]) -> tuple[Override, ...]:
    if raw is None:
        return ()
    label = f"[[tool.{name}.overrides]]"
    if not isinstance(raw, list) or not all(isinstance(o, dict) for o in raw):
        raise ConfigError(f"{label} must be an array of tables")
    return tuple(
        _override(entry, f"{label} #{index}", strict, warnings)
        for index, entry in enumerate(raw, 1)
    )


def _override(
    entry: Mapping[str, object], label: str, strict: bool, warnings: list[str]
) -> Override:
    select = entry.get("select")
    if isinstance(select, list) and all(isinstance(s, str) for s in select):
        select = " ".join(select)
    if not isinstance(select, str) or not select.strip():
        raise ConfigError(f"{label}: 'select' must be set (a pattern or an array of patterns)")
    inherit = _inherit(entry.get("inherit", {}), label)
    values: dict[str, object] = {}
    for key, value in entry.items():
        if key in ("select", "inherit") or not _known(key, label, strict, warnings):
            continue
        if OPTIONS[key].scope is Scope.GLOBAL:
            message = f"{label} {key}: cannot be overridden per identifier"
            if strict:
                raise ConfigError(message)
            warnings.append(f"{message}; ignored (as cibuildwheel ignores it)")
            continue
        values[key] = value
    return Override(select, values, inherit, label)


def _inherit(raw: object, label: str) -> dict[str, Inherit]:
    rules = {rule.value: rule for rule in Inherit}
    if not isinstance(raw, dict) or not all(v in rules for v in raw.values()):
        raise ConfigError(
            f"{label} inherit: must be a table of 'none', 'append' or 'prepend' per option"
        )
    for key in raw:
        if key not in OPTIONS:
            raise ConfigError(f"{label} inherit.{key}: unknown option")
    return {key: rules[value] for key, value in raw.items()}


# --- the project's own metadata ------------------------------------------------------------------


def requires_python_of(project: Path, pyproject: Mapping[str, Any] | None) -> str | None:
    """``requires-python`` from ``pyproject.toml``, ``setup.cfg`` or a literal
    ``python_requires=`` in ``setup.py`` (cibuildwheel's order), ``None`` if none says."""
    value = (pyproject or {}).get("project", {})
    if isinstance(value, dict) and isinstance(value.get("requires-python"), str):
        return str(value["requires-python"])
    setup_cfg = project / "setup.cfg"
    if setup_cfg.is_file():
        parser = configparser.ConfigParser()
        try:
            parser.read(setup_cfg, encoding="utf-8")
            return parser.get("options", "python_requires")
        except (configparser.Error, UnicodeDecodeError):
            pass
    return _setup_py_requires(project / "setup.py")


def _setup_py_requires(path: Path) -> str | None:
    """``python_requires="..."`` of a top-level ``setup(...)`` call (or one under
    ``if __name__ == "__main__"``), read without running anything."""
    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return None
    statements = list(tree.body)
    for node in tree.body:
        if isinstance(node, ast.If):
            statements.extend(node.body)
    for statement in statements:
        call = statement.value if isinstance(statement, ast.Expr) else None
        if not isinstance(call, ast.Call):
            continue
        for keyword in call.keywords:
            value = keyword.value
            if keyword.arg == "python_requires" and isinstance(value, ast.Constant):
                return value.value if isinstance(value.value, str) else None
    return None


def resolve_dependency_groups(
    pyproject: Mapping[str, Any] | None, groups: Sequence[str], where: str
) -> tuple[str, ...]:
    """The requirements of PEP 735 ``groups`` (``include-group`` followed, cycles refused)."""
    if not groups:
        return ()
    table = (pyproject or {}).get("dependency-groups")
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: needs [dependency-groups] in the project's pyproject.toml")
    normalized: dict[str, object] = {canonicalize_name(str(k)): v for k, v in table.items()}
    found: list[str] = []
    for group in groups:
        found.extend(_group(normalized, canonicalize_name(group), (), where))
    return tuple(dict.fromkeys(found))


def _group(table: Mapping[str, object], name: str, chain: tuple[str, ...], where: str) -> list[str]:
    if name in chain:
        raise ConfigError(f"{where}: dependency group cycle {' -> '.join((*chain, name))}")
    entries = table.get(name)
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: no dependency group {name!r} in [dependency-groups]")
    found: list[str] = []
    for entry in entries:
        if isinstance(entry, str):
            found.append(entry)
        elif isinstance(entry, dict) and isinstance(entry.get("include-group"), str):
            include = canonicalize_name(entry["include-group"])
            found.extend(_group(table, include, (*chain, name), where))
        else:
            raise ConfigError(f"{where}: dependency group {name!r} has an invalid entry {entry!r}")
    return found
