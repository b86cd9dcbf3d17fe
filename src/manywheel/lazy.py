"""Names a package loads on first use (PEP 562): what start-up does not need stays unimported.

In a package's ``__init__``::

    _LAZY = {"edit_elf": "manywheel.elf.editor"}
    __getattr__ = lazy_attributes(__name__, _LAZY)

with the same names imported under ``TYPE_CHECKING`` for type checkers, and listed in
``__all__``. ``tests/test_subpackages.py`` checks each name resolves to its module's, and that
``show --json`` imports none of them.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(package: str, table: Mapping[str, str]) -> Callable[[str], Any]:
    """The ``__getattr__`` of ``package``: a name of ``table`` (name -> module) is imported from
    its module when first asked for, then kept in the package like any other."""

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
