"""Names a package loads on first use (PEP 562): what start-up does not need stays unimported.

In a package's ``__init__``::

    _LAZY = {"edit_elf": "manywheel.elf.editor"}
    __getattr__ = lazy_attributes(__name__, _LAZY)

with the same names imported under ``TYPE_CHECKING`` for type checkers, and listed in
``__all__``. ``tests/test_subpackages.py`` checks each name resolves to its module's, and that
``show --json`` imports none of them.

:func:`lazy_logger` does the same for :mod:`logging` (with ``traceback``, which it loads, some
4 ms of a small wheel's ``show``): a module's logger that imports ``logging`` only when a
record could be shown, and :func:`when_logging_loads` lets the CLI configure ``logging`` at
that moment rather than import it for every run.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import logging
    from importlib.abc import Loader
    from importlib.machinery import ModuleSpec
    from types import ModuleType

__all__ = ["LazyLogger", "lazy_attributes", "lazy_logger", "when_logging_loads"]


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


class LazyLogger:
    """``logging.getLogger(name)``, got when first needed. While :mod:`logging` is not loaded
    (by anyone), nothing can have configured it: a debug or info record would be dropped (the
    root logger's default level is WARNING), so it is dropped here without loading it. A
    warning or worse, or any record once :mod:`logging` is loaded, goes to the real logger
    (with the caller's frame: ``stacklevel`` counts past this one)."""

    __slots__ = ("_logger", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._logger: logging.Logger | None = None

    def _real(self) -> logging.Logger:
        logger = self._logger
        if logger is None:
            import logging

            logger = self._logger = logging.getLogger(self.name)
        return logger

    def debug(self, msg: object, *args: object, **kwargs: Any) -> None:
        if "logging" in sys.modules:
            kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 1
            self._real().debug(msg, *args, **kwargs)

    def info(self, msg: object, *args: object, **kwargs: Any) -> None:
        if "logging" in sys.modules:
            kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 1
            self._real().info(msg, *args, **kwargs)

    def warning(self, msg: object, *args: object, **kwargs: Any) -> None:
        kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 1
        self._real().warning(msg, *args, **kwargs)

    def error(self, msg: object, *args: object, **kwargs: Any) -> None:
        kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 1
        self._real().error(msg, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        """Anything else a logger has (``isEnabledFor``, ``setLevel``, ...), from the real one."""
        return getattr(self._real(), name)


def lazy_logger(name: str) -> LazyLogger:
    """A module's logger (``logger = lazy_logger(__name__)``) that loads :mod:`logging` only
    when a record could be shown: see :class:`LazyLogger`."""
    return LazyLogger(name)


def when_logging_loads(configure: Callable[[], None]) -> Callable[[], None]:
    """Run ``configure`` once :mod:`logging` is loaded: now, if it is; else right after
    whoever imports it (a :class:`LazyLogger`, or any other module) has loaded it, before
    anything can log through it. Returns the undo: it forgets ``configure`` if it has not
    run (the CLI calls it when its command is done)."""
    if "logging" in sys.modules:
        configure()
        return lambda: None
    watcher = _LoggingWatcher(configure)
    sys.meta_path.insert(0, watcher)
    return watcher.remove


class _LoggingWatcher:
    """A meta path finder that finds nothing itself: when ``logging`` is imported, it wraps
    the loader the other finders give so that ``configure`` runs right after the module is
    executed. (Not an ``importlib.abc`` class: that module's imports cost more than
    ``logging``'s.)"""

    def __init__(self, configure: Callable[[], None]) -> None:
        self._configure = configure

    def remove(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)

    def find_spec(
        self, fullname: str, path: Any = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != "logging":
            return None
        self.remove()
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec: ModuleSpec | None = None if find is None else find(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = cast("Loader", _ConfiguringLoader(spec.loader, self._configure))
                return spec
        return None


class _ConfiguringLoader:
    """The loader of ``logging``, then ``configure``."""

    def __init__(self, loader: Loader, configure: Callable[[], None]) -> None:
        self._loader = loader
        self._configure = configure

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        module.__loader__ = self._loader  # the module as it would be without the watcher
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._configure()
