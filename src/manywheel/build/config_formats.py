"""How an option's value is written and combined, as cibuildwheel does it.

Every source (a TOML value, an environment variable, a command-line value) becomes the string an
environment variable would hold: a TOML array of commands is joined with `` && ``, of words with
spaces (shell-quoted where the option is split again with ``shlex``), of extras with commas; a
TOML table of environment variables becomes ``K="v" ...``, other tables ``k=v`` pairs or
``name; key: value`` fields. Sources are then applied lowest first: each replaces the value
below it, or with an override's ``inherit`` rule is appended or prepended to it.
"""

from __future__ import annotations

import enum
import itertools
import shlex
from collections.abc import Mapping, Sequence

from manywheel.values import value_class

__all__ = [
    "Format",
    "Inherit",
    "Layer",
    "SettingError",
    "key_value_fields",
    "mergeable",
    "pairs",
    "resolve",
    "shlex_table",
]


class SettingError(ValueError):
    """A value that an option cannot take (its type or its syntax); the caller adds where."""


class Inherit(enum.Enum):
    NONE = "none"
    APPEND = "append"
    PREPEND = "prepend"


class Format(enum.Enum):
    """How TOML arrays and tables become the option's string, and how two strings merge."""

    #: A plain string; arrays and tables refused.
    TEXT = "text"
    #: Shell commands: an array is joined with `` && ``.
    COMMANDS = "commands"
    #: Space-separated words (selectors, group names): an array is joined with spaces.
    WORDS = "words"
    #: Words split again with ``shlex``: each array item is shell-quoted.
    QUOTED_WORDS = "quoted-words"
    #: Comma-separated (``test-extras``).
    COMMAS = "commas"
    #: ``KEY=value`` assignments (``environment``): a table becomes ``KEY="value" ...``.
    ENVIRONMENT = "environment"
    #: ``key=value`` pairs (``config-settings``): a table becomes shell-quoted pairs.
    PAIRS = "pairs"
    #: ``name; key: value`` fields (``build-frontend``, ``container-engine``): never merged.
    FIELDS = "fields"


_LIST_SEPARATORS = {
    Format.COMMANDS: " && ",
    Format.WORDS: " ",
    Format.QUOTED_WORDS: " ",
    Format.COMMAS: ",",
}

#: A TOML value: a leaf, an array of leaves, or a table.
Setting = object


@value_class
class Layer:
    """One source's value for an option (``None``: not set there) and how it combines."""

    value: Setting | None
    where: str
    inherit: Inherit = Inherit.NONE


def resolve(
    layers: Sequence[Layer], option_format: Format, *, ignore_empty: bool = False
) -> tuple[str, tuple[str, ...]]:
    """The option's string after every layer (lowest first), and where its parts came from.
    ``ignore_empty``: an empty value does not replace the one below (``archs``, images)."""
    result: str | None = None
    sources: list[str] = []
    for layer in layers:
        if layer.value is None:
            continue
        text = _stringify(layer.value, option_format)
        if ignore_empty and not text:
            continue
        if layer.inherit is Inherit.NONE or not result:
            result, sources = text, [layer.where]
        elif text:
            before, after = (result, text) if layer.inherit is Inherit.APPEND else (text, result)
            result = _merge(before, after, option_format)
            sources.append(layer.where)
    return result or "", tuple(sources)


def mergeable(option_format: Format) -> bool:
    """Whether an override's ``inherit`` rule can append or prepend to this format."""
    return option_format not in (Format.TEXT, Format.FIELDS)


def _merge(before: str, after: str, option_format: Format) -> str:
    if option_format in _LIST_SEPARATORS:
        return f"{before}{_LIST_SEPARATORS[option_format]}{after}"
    if option_format is Format.ENVIRONMENT:
        return f"{before} {after}"
    if option_format is Format.PAIRS:
        return shlex_table({**_pairs(before), **_pairs(after)})
    raise SettingError("this option cannot be appended to or prepended to (inherit)")


def _stringify(value: Setting, option_format: Format) -> str:
    if isinstance(value, bool | int | str) and not isinstance(value, float):
        return str(value)
    if isinstance(value, Mapping):
        return _table(value, option_format)
    if isinstance(value, list | tuple):
        separator = _LIST_SEPARATORS.get(option_format)
        if separator is None:
            raise SettingError("expected a string, found an array")
        items = [_leaf(item, "array item") for item in value]
        if option_format is Format.QUOTED_WORDS:
            items = [shlex.quote(item) for item in items]
        return separator.join(items)
    raise SettingError(f"expected a string, an array or a table, found {_type_name(value)}")


def _leaf(value: object, what: str) -> str:
    if isinstance(value, bool | int | str) and not isinstance(value, float):
        return str(value)
    raise SettingError(f"{what}: expected a string, found {_type_name(value)}")


def _table(table: Mapping[object, object], option_format: Format) -> str:
    if option_format is Format.ENVIRONMENT:
        return " ".join(f'{key}="{_leaf(value, f"key {key!r}")}"' for key, value in table.items())
    if option_format in (Format.PAIRS, Format.FIELDS):
        separator, pair = (" ", "=") if option_format is Format.PAIRS else ("; ", ":")
        return shlex_table(
            {str(k): _table_value(v, str(k)) for k, v in table.items()}, separator, pair
        )
    raise SettingError("expected a string, found a table")


def _table_value(value: object, key: str) -> str | list[str]:
    if isinstance(value, list | tuple):
        return [_leaf(item, f"key {key!r}") for item in value]
    return _leaf(value, f"key {key!r}")


def shlex_table(
    table: Mapping[str, str | Sequence[str]], separator: str = " ", pair: str = "="
) -> str:
    """``k=v`` (or ``k:v``) items, values shell-quoted; a list value repeats its key."""
    items: list[str] = []
    for key, value in table.items():
        if shlex.split(key) != [key]:
            raise SettingError(f"invalid table key {key!r}")
        values = [value] if isinstance(value, str) else list(value)
        items.extend(f"{key}{pair}{shlex.quote(v)}" for v in values)
    return separator.join(items)


def _pairs(text: str) -> dict[str, str | list[str]]:
    """``shlex_table``'s inverse: a repeated key gives a list."""
    result: dict[str, str | list[str]] = {}
    for item in _split(text):
        key, sep, value = item.partition("=")
        if not sep:
            raise SettingError(f"malformed item {item!r} (expected key=value)")
        existing = result.get(key)
        if existing is None:
            result[key] = value
        else:
            result[key] = [*([existing] if isinstance(existing, str) else existing), value]
    return result


def pairs(text: str) -> tuple[tuple[str, str], ...]:
    """``key=value`` items in order (``config-settings``)."""
    found = []
    for item in _split(text):
        key, sep, value = item.partition("=")
        if not sep:
            raise SettingError(f"malformed item {item!r} (expected key=value)")
        found.append((key, value))
    return tuple(found)


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as e:
        raise SettingError(f"{e} in {text!r}") from e


def key_value_fields(
    text: str, positional: Sequence[str], keywords: Sequence[str]
) -> dict[str, list[str]]:
    """``name; key: value value2; other: v``: cibuildwheel's field syntax (``build-frontend``,
    ``container-engine``). Fields without a ``key:`` fill ``positional`` names in order."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";")
    lexer.commenters = ""
    lexer.whitespace_split = True
    try:
        parts = list(lexer)
    except ValueError as e:
        raise SettingError(f"{e} in {text!r}") from e
    groups = [list(g) for is_sep, g in itertools.groupby(parts, lambda p: p == ";") if not is_sep]
    result: dict[str, list[str]] = {}
    for index, group in enumerate(groups):
        name, sep, first = group[0].partition(":")
        if sep:
            if name not in keywords and name not in positional:
                raise SettingError(f"unknown field {name!r} in {text!r}")
            values = ([first] if first else []) + group[1:]
        elif index < len(positional):
            name, values = positional[index], group
        else:
            raise SettingError(f"too many fields in {text!r}")
        result.setdefault(name, []).extend(values)
    return result


def _type_name(value: object) -> str:
    names = {float: "a number with a fraction", dict: "a table", list: "an array"}
    return names.get(type(value), f"a {type(value).__name__}")
