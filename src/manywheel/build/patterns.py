"""cibuildwheel's selectors: space-separated ``fnmatch`` patterns with bash brace expansion
(``cp3{10,11}-*``, ``cp3{8..13}-*``), matched against a build identifier.

Brace expansion follows bash (and bracex, which cibuildwheel uses): comma lists nest
(``{a,b{c,d}}``), ``{1..3}``, ``{01..10}`` (zero padded), ``{a..e}`` and a step (``{1..9..2}``);
a brace without a comma or a range is kept literally (``{x}``), and ``\\`` escapes a brace. The
number of expansions of one pattern is bounded, so a hostile pattern cannot exhaust memory.
"""

from __future__ import annotations

import itertools
import re
from fnmatch import fnmatchcase

from manywheel.errors import ManywheelError

__all__ = ["PatternError", "expand_braces", "selector_matches"]

#: Expansions of one pattern, at most.
MAX_EXPANSIONS = 10_000

_RANGE = re.compile(r"^(-?\d+|[A-Za-z])\.\.(-?\d+|[A-Za-z])(?:\.\.(-?\d+))?$")


class PatternError(ManywheelError, ValueError):
    """A selector pattern that cannot be expanded (too many expansions)."""


def selector_matches(patterns: str, identifier: str) -> bool:
    """Whether any of the space-separated ``patterns`` matches ``identifier`` (case-sensitive,
    as on Linux)."""
    return any(
        fnmatchcase(identifier, expanded)
        for pattern in patterns.split()
        for expanded in expand_braces(pattern)
    )


def expand_braces(pattern: str) -> list[str]:
    """Every word ``pattern`` expands to, in bash's order (empty words dropped, as bash and
    bracex drop them)."""
    return [_unescape(r) for r in _expand(pattern) if r]


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)


def _expand(pattern: str) -> list[str]:
    # bash keeps a "{}" (find's placeholder) that starts a word, an alternative or what follows
    # a group as it is
    found = _first_group(pattern, 2 if pattern.startswith("{}") else 0)
    if found is None:
        return [pattern]
    start, end, alternatives = found
    prefix, suffix = pattern[:start], pattern[end + 1 :]
    tails = _expand(suffix)
    results: list[str] = []
    for alternative in alternatives:
        for head in _expand(alternative):
            for tail in tails:
                results.append(prefix + head + tail)
                if len(results) > MAX_EXPANSIONS:
                    raise PatternError(
                        f"{pattern!r} expands to more than {MAX_EXPANSIONS} patterns"
                    )
    return results


def _first_group(pattern: str, index: int) -> tuple[int, int, list[str]] | None:
    """The first brace group from ``index`` that expands: (its start, its closing brace, the
    alternatives)."""
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if char == "{":
            group = _group_at(pattern, index)
            if group is not None:
                return group
        index += 1
    return None


def _group_at(pattern: str, start: int) -> tuple[int, int, list[str]] | None:
    """The group opened at ``start``, as bash finds it: a ``}`` at the group's own level before
    any comma closes a sequence (``{1..3}``; an invalid one is no group at all); otherwise that
    ``}`` is text and the group goes on to a later one."""
    depth, index, commas = 1, start + 1, [start]
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}" and depth > 1:
            depth -= 1
        elif char == "}":
            if len(commas) > 1:
                bounds = [*commas, index]
                alternatives = [pattern[a + 1 : b] for a, b in itertools.pairwise(bounds)]
                return start, index, alternatives
            body = pattern[start + 1 : index]
            if ".." in body:  # a sequence, or (invalid) no group at all
                sequence = _sequence(body)
                return None if sequence is None else (start, index, sequence)
        elif char == "," and depth == 1:
            commas.append(index)
        index += 1
    return None


def _sequence(body: str) -> list[str] | None:
    match = _RANGE.match(body)
    if match is None:
        return None
    first, last, step_text = match.groups()
    step = abs(int(step_text)) if step_text else 1
    step = step or 1
    if first.isalpha() != last.isalpha():
        return None
    if first.isalpha():
        a, b = ord(first), ord(last)
        values = range(a, b + 1, step) if a <= b else range(a, b - 1, -step)
        return _bounded([chr(v) for v in values], body)
    a, b = int(first), int(last)
    width = max(len(first), len(last)) if _padded(first) or _padded(last) else 0
    values = range(a, b + 1, step) if a <= b else range(a, b - 1, -step)
    if len(values) > MAX_EXPANSIONS:
        raise PatternError(f"{{{body}}} expands to more than {MAX_EXPANSIONS} patterns")
    return [str(v).zfill(width) if v >= 0 else "-" + str(-v).zfill(width - 1) for v in values]


def _padded(number: str) -> bool:
    digits = number.lstrip("-")
    return len(digits) > 1 and digits.startswith("0")


def _bounded(values: list[str], body: str) -> list[str]:
    if len(values) > MAX_EXPANSIONS:
        raise PatternError(f"{{{body}}} expands to more than {MAX_EXPANSIONS} patterns")
    return values
