"""Dynamic string tokens in search paths: ``$ORIGIN``, ``$LIB``, ``$PLATFORM`` (glibc
``_dl_dst_substitute``; musl knows only ``$ORIGIN``)."""

from __future__ import annotations

import re

__all__ = ["expand_tokens"]

_TOKEN = re.compile(r"\$(?:\{(ORIGIN|LIB|PLATFORM)\}|(ORIGIN|LIB|PLATFORM)(?![A-Za-z0-9_]))")


def expand_tokens(
    entry: str,
    *,
    origin: str | None,
    lib: str | None,
    platform: str | None,
) -> str | None:
    """``entry`` with its tokens replaced; ``None`` when a token it uses has no value (the loader
    then drops the whole entry). Like glibc, the result is not normalised (``$ORIGIN/../lib``
    stays ``/dir/../lib``) apart from trailing slashes; an unknown ``$NAME`` is left as written."""
    values = {"ORIGIN": origin, "LIB": lib, "PLATFORM": platform}
    missing = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal missing
        value = values[match.group(1) or match.group(2)]
        if value is None:
            missing = True
            return ""
        return value

    expanded = _TOKEN.sub(substitute, entry)
    if missing:
        return None
    stripped = expanded.rstrip("/")
    return stripped if stripped or not expanded else "/"
