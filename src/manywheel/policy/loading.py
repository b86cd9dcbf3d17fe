"""Reading policy files (auditwheel's JSON format) into :class:`Policy` objects.

A file is a JSON list of objects with ``name``, ``aliases``, ``priority``, ``symbol_versions``
(architecture -> namespace -> version suffixes), ``lib_whitelist`` and ``blacklist`` (soname ->
symbols). In a user's file an entry naming an existing policy overrides it: the keys it has replace
the existing ones, the keys it lacks are kept, and ``lib_whitelist_add`` (a manywheel extension)
adds sonames to the whitelist. See docs/policy-format.md.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import replace
from itertools import repeat
from pathlib import Path
from types import MappingProxyType
from typing import Any

from manywheel.errors import InvalidPolicyError, open_regular
from manywheel.lazy import lazy_logger
from manywheel.policy.definitions import Policy, parse_policy_name
from manywheel.policy.symbol_versions import AllowedVersions, VersionTable

__all__ = ["SHIPPED_FILES", "SHIPPED_PREFIX", "parse_policy_file", "read_shipped", "read_user_file"]

logger = lazy_logger(__name__)

SHIPPED_FILES = ("manylinux-policy.json", "musllinux-policy.json", "android-policy.json")
#: How the shipped files are named in errors and in ``Policy.source``.
SHIPPED_PREFIX = "manywheel/policy/data/"
_KEYS = {"name", "aliases", "priority", "symbol_versions", "lib_whitelist", "blacklist"}
_USER_KEYS = _KEYS | {"lib_whitelist_add"}
_SPACE = re.compile(r"\s")
#: A user's policy file is at most this big (the shipped manylinux file is 127 KB).
MAX_POLICY_FILE_BYTES = 16 * 2**20
#: The longest integer literal accepted (priorities are small; anything longer is absurd, and
#: Python refuses to convert more than 4300 digits anyway).
_MAX_INT_DIGITS = 18
#: Priorities run from 0 ('linux') to this.
MAX_PRIORITY = 2**31 - 1


def read_shipped() -> list[tuple[str, Any]]:
    """The shipped policy files as ``(source, decoded JSON)`` pairs."""
    out = []
    for name in SHIPPED_FILES:
        source = f"{SHIPPED_PREFIX}{name}"
        out.append((source, _decode(_shipped_text(name), source)))
    return out


#: Where the shipped files are when the package is installed as files.
_DATA = Path(__file__).with_name("data")


def _shipped_text(name: str) -> str:
    # Read beside this module when installed as files (the usual case; importlib.resources
    # costs a few milliseconds of imports, which matters to a small wheel's ``show``).
    beside = _DATA / name
    if beside.is_file():
        return beside.read_text(encoding="utf-8")
    from importlib import resources  # installed in a zip

    return (
        resources.files("manywheel.policy")
        .joinpath("data")
        .joinpath(name)
        .read_text(encoding="utf-8")
    )


def read_user_file(path: Path) -> Any:
    """A user's policy file, decoded: a regular file of at most
    :data:`MAX_POLICY_FILE_BYTES`, UTF-8, JSON that is not nested absurdly deep and has no
    absurdly long number, else :class:`InvalidPolicyError`. A file that cannot be read raises
    the system's ``OSError`` (:class:`FileNotFoundError`, ...)."""
    source = str(path)
    with os.fdopen(open_regular(path), "rb") as f:
        data = f.read(MAX_POLICY_FILE_BYTES + 1)
    if len(data) > MAX_POLICY_FILE_BYTES:
        raise InvalidPolicyError(
            f"larger than {MAX_POLICY_FILE_BYTES:,} bytes: not a policy file", path=source
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidPolicyError(f"not UTF-8 (byte {e.start}: {e.reason})", path=source) from None
    return _decode(text, source)


def _bounded_int(text: str, source: str) -> int:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise InvalidPolicyError(
            f"the number {text[:12]}... has {len(text)} digits: absurd in a policy", path=source
        )
    return int(text)


def _decode(text: str, source: str) -> Any:
    try:
        return json.loads(text, parse_int=lambda t: _bounded_int(t, source))
    except json.JSONDecodeError as e:
        raise InvalidPolicyError(
            f"not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})", path=source
        ) from e
    except RecursionError:  # json's own guard: nesting deeper than the interpreter's stack
        raise InvalidPolicyError("JSON nested absurdly deep", path=source) from None


def parse_policy_file(
    document: Any, source: str, known: Mapping[str, Policy] | None = None
) -> list[Policy]:
    """Turn one decoded file into policies. With ``known`` (policies loaded so far), entries that
    name a known policy (or one earlier in the file) override it key by key."""
    if not isinstance(document, list):
        raise InvalidPolicyError("a policy file must be a JSON list of policies", path=source)
    out: dict[str, Policy] = {}
    for index, entry in enumerate(document):
        if not isinstance(entry, dict):
            raise InvalidPolicyError(f"entry {index} is not a JSON object", path=source)
        name = str(entry.get("name"))
        base = out.get(name) or (None if known is None else known.get(name))
        if known is None and name in out:
            raise InvalidPolicyError(f"policy {name!r} is defined twice", path=source)
        out[name] = _parse_entry(entry, source, index, base, user=known is not None)
    return list(out.values())


def _parse_entry(
    entry: dict[str, Any], source: str, index: int, base: Policy | None, *, user: bool
) -> Policy:
    name = entry.get("name")
    where = f"policy {name!r}" if isinstance(name, str) else f"entry {index}"
    unknown = set(entry) - (_USER_KEYS if user else _KEYS)
    if unknown:
        raise InvalidPolicyError(f"{where}: unknown keys {sorted(unknown)}", path=source)
    if not isinstance(name, str):
        raise InvalidPolicyError(f"{where}: 'name' must be a string", path=source)
    missing = _KEYS - set(entry) if base is None else set()
    if missing:
        raise InvalidPolicyError(f"{where}: missing keys {sorted(missing)}", path=source)
    policy = base if base is not None else _new_policy(name, where, source)
    policy = replace(policy, source=source)
    return _apply_keys(policy, entry, where, source)


def _new_policy(name: str, where: str, source: str) -> Policy:
    if name == "linux":
        libc, version = None, None
    else:
        parsed = parse_policy_name(name)
        if parsed is None:
            raise InvalidPolicyError(
                f"{where}: a policy name must be 'linux', 'manylinux_X_Y', 'musllinux_X_Y' "
                "or 'android_N'",
                path=source,
            )
        libc, version = parsed
    empty: Mapping[str, Any] = MappingProxyType({})
    return Policy(name, (), 0, libc, version, empty, frozenset(), empty)


def _apply_keys(policy: Policy, entry: dict[str, Any], where: str, source: str) -> Policy:
    if "aliases" in entry:
        policy = replace(
            policy, aliases=tuple(_strings(entry["aliases"], f"{where}: aliases", source))
        )
    if "priority" in entry:
        priority = entry["priority"]
        if (
            not isinstance(priority, int)
            or isinstance(priority, bool)
            or not 0 <= priority <= MAX_PRIORITY
        ):
            raise InvalidPolicyError(
                f"{where}: 'priority' must be an integer from 0 to {MAX_PRIORITY}", path=source
            )
        policy = replace(policy, priority=priority)
    if "symbol_versions" in entry:
        versions = _symbol_versions(entry["symbol_versions"], where, source)
        policy = replace(policy, symbol_versions=versions)
    if "lib_whitelist" in entry:
        libs = _strings(entry["lib_whitelist"], f"{where}: lib_whitelist", source)
        policy = replace(policy, lib_whitelist=frozenset(libs))
    if "lib_whitelist_add" in entry:
        extra = _strings(entry["lib_whitelist_add"], f"{where}: lib_whitelist_add", source)
        policy = replace(policy, lib_whitelist=policy.lib_whitelist | frozenset(extra))
    if "blacklist" in entry:
        policy = replace(policy, blacklist=_blacklist(entry["blacklist"], where, source))
    return policy


def _strings(value: Any, what: str, source: str) -> list[str]:
    # (map and "in" at C speed: the shipped files hold some 12,000 strings)
    strings = isinstance(value, list) and all(map(isinstance, value, repeat(str)))
    if not strings or "" in value:
        raise InvalidPolicyError(f"{what} must be a list of non-empty strings", path=source)
    if len(set(value)) != len(value):
        logger.debug("%s: %s lists duplicates", source, what)
    checked: list[str] = value
    return checked


def _symbol_versions(value: Any, where: str, source: str) -> Mapping[str, AllowedVersions]:
    if not isinstance(value, dict):
        raise InvalidPolicyError(f"{where}: 'symbol_versions' must be an object", path=source)
    out: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for arch, namespaces in value.items():
        what = f"{where}: symbol_versions.{arch}"
        if not isinstance(namespaces, dict):
            raise InvalidPolicyError(f"{what} must be an object", path=source)
        names: list[str] = []
        for namespace, suffixes in namespaces.items():
            checked = _strings(suffixes, f"{what}.{namespace}", source)
            if _SPACE.search("".join(checked)):
                bad = next(s for s in checked if _SPACE.search(s))
                raise InvalidPolicyError(f"{what}.{namespace}: bad version {bad!r}", path=source)
            names.extend(map(f"{namespace}_".__add__, checked))
        out[arch] = (tuple(names), tuple(namespaces))
    return VersionTable(out)


def _blacklist(value: Any, where: str, source: str) -> Mapping[str, frozenset[str]]:
    if not isinstance(value, dict):
        raise InvalidPolicyError(f"{where}: 'blacklist' must be an object", path=source)
    return MappingProxyType(
        {
            lib: frozenset(_strings(symbols, f"{where}: blacklist.{lib}", source))
            for lib, symbols in value.items()
        }
    )
