"""The type of the JSON documents the renderers build: plain dicts, lists and scalars, ready for
:func:`json.dumps`."""

from __future__ import annotations

from typing import TypeAlias

__all__ = ["JsonObject"]

#: One JSON object (a document, or an entry of one).
JsonObject: TypeAlias = dict[str, object]
