"""A wheel of this run reused by a later identifier, as cibuildwheel does: a ``cp311-abi3``
wheel built for ``cp311-manylinux_x86_64`` is not built again for ``cp312`` and ``cp313`` of
the same target — it is only tested with their Pythons.

:func:`compatible_wheel` is cibuildwheel's rule (``find_compatible_wheel``): a wheel tagged
``cpXY-abi3`` serves a CPython identifier of version ``>= X.Y`` that is not free-threaded (the
Stable ABI of PEP 384 does not apply to ``t`` builds), a ``py3-none`` (or ``py3Y-none``) wheel
any identifier of ``>= 3.Y``; its platform tag must be of the identifier's platform and
architecture (the policy's version does not matter).

:class:`ReuseBoard` makes the choice the same whatever ``--jobs`` says: an identifier's choice
is the one a sequential run, oldest Python first, makes — the first compatible wheel that an
earlier identifier of the same target *built and passed* (tested, checked, in the wheelhouse).
An identifier whose earlier ones are still running builds meanwhile (speculatively, so a
project without such wheels loses no parallelism), then waits, before its repair, until every
earlier one has either repaired a wheel it cannot reuse or finished; if it may reuse one after
all, its own build is discarded. An identifier that sees an earlier one's compatible wheel
already repaired waits for it instead of building.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from manywheel.build.identifiers import BuildIdentifier, PythonImplementation
from manywheel.build.results import BuildOutcome

__all__ = ["ReuseAbandonedError", "ReuseBoard", "compatible_wheel", "reusable_tags"]


def _minor(interpreter: str) -> int | None:
    """``11`` of ``cp311``/``py311``, ``None`` of ``py3``/``cp3`` (no minor version)."""
    rest = interpreter[3:]
    return int(rest) if rest.isdigit() else None


def reusable_tags(tag: Tag, identifier: BuildIdentifier) -> bool:
    """Whether a wheel's Python and ABI tag (not its platform) lets ``identifier`` use it."""
    if tag.abi == "abi3" and not identifier.free_threaded:
        cpython = identifier.implementation is PythonImplementation.CPYTHON
        if not (cpython and identifier.version[0] == 3 and tag.interpreter.startswith("cp3")):
            return False
    elif tag.abi == "none":
        if tag.interpreter[:3] != "py3":
            return False
    else:
        return False
    minor = _minor(tag.interpreter)
    return minor is None or minor <= identifier.version[1]


def _platform_fits(platform: str, identifier: BuildIdentifier) -> bool:
    return platform.startswith(identifier.platform.value) and platform.endswith(
        f"_{identifier.arch}"
    )


def _tags(name: str) -> frozenset[Tag]:
    try:
        return parse_wheel_filename(name)[3]
    except InvalidWheelFilename:
        return frozenset()


def compatible_wheel(wheels: Iterable[Path], identifier: BuildIdentifier) -> Path | None:
    """The first of ``wheels`` (this run's, in build order) ``identifier`` may use instead of
    building its own (see the module's doc), or ``None``."""
    for wheel in wheels:
        for tag in _tags(wheel.name):
            if reusable_tags(tag, identifier) and _platform_fits(tag.platform, identifier):
                return wheel
    return None


class ReuseAbandonedError(Exception):
    """The run is being interrupted: nobody will finish what this identifier waits for."""


class ReuseBoard:
    """What the identifiers of one run's targets know of each other's wheels (thread-safe).

    ``chains`` are the identifiers of each target, in the order they are submitted (oldest
    Python first); only an earlier identifier of the same chain is ever waited for, and it was
    started first, so waiting cannot deadlock."""

    def __init__(self, chains: Iterable[Sequence[BuildIdentifier]]) -> None:
        self._earlier: dict[BuildIdentifier, tuple[BuildIdentifier, ...]] = {}
        for chain in chains:
            for index, identifier in enumerate(chain):
                self._earlier[identifier] = tuple(chain[:index])
        #: The wheel each identifier repaired (``None``: it has none of its own).
        self._repaired: dict[BuildIdentifier, str | None] = {}
        self._finished: dict[BuildIdentifier, BuildOutcome] = {}
        self._abandoned = False
        self._changed = threading.Condition()

    def repaired(self, identifier: BuildIdentifier, name: str | None) -> None:
        """``identifier`` keeps its own wheel, named ``name`` (``None``: it has none: it reuses
        one, or failed before its repair)."""
        with self._changed:
            self._repaired[identifier] = name
            self._changed.notify_all()

    def finished(self, outcome: BuildOutcome) -> None:
        with self._changed:
            self._finished[outcome.identifier] = outcome
            self._changed.notify_all()

    def abandon(self) -> None:
        """Wake every waiter with :class:`ReuseAbandonedError` (the run is interrupted)."""
        with self._changed:
            self._abandoned = True
            self._changed.notify_all()

    def _settled(self, earlier: BuildIdentifier, identifier: BuildIdentifier) -> bool:
        """Whether what ``earlier`` contributes to ``identifier``'s choice is known."""
        if earlier in self._finished:
            return True
        if earlier not in self._repaired:
            return False
        name = self._repaired[earlier]
        return name is None or compatible_wheel([Path(name)], identifier) is None

    def _decidable(self, identifier: BuildIdentifier) -> bool:
        return all(self._settled(e, identifier) for e in self._earlier.get(identifier, ()))

    def _promising(self, identifier: BuildIdentifier) -> bool:
        """An earlier identifier repaired a wheel ``identifier`` could use: wait for it."""
        return any(
            not self._settled(e, identifier) and e in self._repaired
            for e in self._earlier.get(identifier, ())
        )

    def _choice(self, identifier: BuildIdentifier) -> BuildOutcome | None:
        for earlier in self._earlier.get(identifier, ()):
            outcome = self._finished.get(earlier)
            if outcome is None or not outcome.ok or outcome.reused_from is not None:
                continue
            if outcome.wheel is not None and compatible_wheel([outcome.wheel], identifier):
                return outcome
        return None

    def choose(self, identifier: BuildIdentifier, *, wait: bool) -> BuildOutcome | bool | None:
        """The outcome of the earlier identifier whose wheel ``identifier`` reuses, ``None``
        to build its own; without ``wait``, ``False`` when that is not known yet (and no
        earlier identifier has a wheel it could use on the way)."""
        with self._changed:
            if not wait and not self._decidable(identifier) and not self._promising(identifier):
                return False
            self._changed.wait_for(lambda: self._abandoned or self._decidable(identifier))
            if self._abandoned:
                raise ReuseAbandonedError(str(identifier))
            return self._choice(identifier)
