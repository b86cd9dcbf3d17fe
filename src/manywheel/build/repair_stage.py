"""The repair of a built wheel, as cibuildwheel's ``repair-wheel-command`` says:

* :class:`InProcessRepair` — the default (``manywheel repair -w {dest_dir} {wheel}``) and any
  ``manywheel repair …``/``auditwheel repair …`` command with its flags: ``manywheel repair``'s
  own code and options, in-process, for the identifier's target (the session's
  ``AUDITWHEEL_PLAT``, unless the command gives ``--plat``), resolving libraries in the system
  the session built against;
* :class:`CommandRepair` — anything else, run with ``sh -c`` in the build's session with
  ``{wheel}``, ``{dest_dir}``, ``{project}`` and ``{package}`` replaced by their paths there
  (cibuildwheel's meaning; an empty
  command means no repair: the built wheel goes on as it is). It must leave exactly one wheel.

Either way the wheel that comes out is checked (:func:`~manywheel.build.check_wheel`: its tags
audited) before it may enter the wheelhouse.

The settings may be given as a function: :class:`RepairSettingsSource` then makes them once, on
a thread started when the builds start, so that importing and preparing the repair (policies,
the patcher) happens while the first frontend runs rather than before it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from manywheel.errors import ManywheelError
from manywheel.values import value_class

if TYPE_CHECKING:
    from manywheel.audit import AuditOptions
    from manywheel.policy import PolicySet
    from manywheel.repair import (
        ElfPatcher,
        PackageIndex,
        PackageOwner,
        RepairOptions,
        RepairResult,
    )

__all__ = [
    "BuildPackages",
    "CommandRepair",
    "InProcessRepair",
    "RepairFailedError",
    "RepairSettings",
    "RepairSettingsSource",
    "RepairStep",
    "repair_built",
]


@value_class
class RepairSettings:
    """The in-process repair: ``manywheel repair``'s options; ``options.plat`` is replaced by
    each identifier's target (``manylinux_2_17_x86_64``), as ``AUDITWHEEL_PLAT`` is in the
    manylinux images."""

    options: RepairOptions
    audit: AuditOptions
    policies: PolicySet
    patcher: ElfPatcher
    allow_pure: bool = False
    tool_version: str = "unknown"
    #: ``PATH`` to find ``rpm`` on, for the SBOM's package lookups.
    path: str | None = None


@value_class
class BuildPackages:
    """The system's package databases, asked only about libraries that are not the build's
    own: a library in the build's prefix was made by before-all, never installed by a package
    (scanning dpkg's file lists for it would cost more than the rest of the repair)."""

    system: PackageIndex
    #: The prefix's library directories (as the audited system spells them).
    own: tuple[str, ...]

    def owners(self, paths: Collection[str]) -> dict[str, PackageOwner]:
        own = tuple(d.rstrip("/") + "/" for d in self.own)
        asked = [p for p in paths if not p.startswith(own)]
        return self.system.owners(asked) if asked else {}


class RepairFailedError(ManywheelError):
    """The repair refused the built wheel or could not run; the message says why."""


class RepairSettingsSource:
    """:class:`RepairSettings`, or a function making them, made at most once (thread-safe). A
    function that fails fails again for every repair that asks, with its own error."""

    def __init__(self, settings: RepairSettings | Callable[[], RepairSettings]) -> None:
        self._make = settings
        self._lock = threading.Lock()
        self._settings = settings if isinstance(settings, RepairSettings) else None
        self._started = False

    def start(self) -> None:
        """Make the settings on a thread now (errors are kept for :meth:`get`); once."""
        with self._lock:
            if self._settings is not None or self._started:
                return
            self._started = True
        threading.Thread(target=self._warm, name="repair-settings", daemon=True).start()

    def _warm(self) -> None:
        try:
            self.get()
        except Exception:
            return

    def get(self) -> RepairSettings:
        with self._lock:
            if self._settings is None:
                assert not isinstance(self._make, RepairSettings)
                self._settings = self._make()
            return self._settings


@value_class
class InProcessRepair:
    """``manywheel repair`` in-process with ``settings`` (made once, possibly on a thread);
    ``plat`` is the command's ``--plat`` (``None``: the identifier's target)."""

    settings: RepairSettingsSource
    plat: str | None = None


@value_class
class CommandRepair:
    """A ``repair-wheel-command`` run in the build's session (``""``: no repair)."""

    command: str


RepairStep = InProcessRepair | CommandRepair


def repair_built(
    built: Path,
    staging: Path,
    *,
    settings: RepairSettings,
    system: AuditOptions,
    plat: str,
    log: BinaryIO,
) -> RepairResult:
    """Repair ``built`` into ``staging`` for ``plat``, resolving libraries as ``system`` says
    (the session's root and prefix) with the user's audit options on top. Raises
    :class:`RepairFailedError` with one line for a refused repair."""
    from manywheel.errors import NotPlatformWheelError
    from manywheel.repair import RepairRequest, SystemPackages, repair_wheel

    user = settings.audit
    audit = replace(
        user,
        root=system.root,
        extra_ldpaths=(*system.extra_ldpaths, *user.extra_ldpaths),
        ld_library_path=user.ld_library_path if system.root == "/" else (),
    )
    options = replace(settings.options, plat=plat)
    log.write(f"manywheel: repairing {built.name} for {plat}\n".encode())
    try:
        result = repair_wheel(
            built,
            staging,
            RepairRequest(
                patcher=settings.patcher,
                options=options,
                audit=audit,
                policies=settings.policies,
                allow_pure=settings.allow_pure,
                packages=BuildPackages(
                    SystemPackages(audit.root, path=settings.path), system.extra_ldpaths
                ),
                tool_version=settings.tool_version,
            ),
        )
    except NotPlatformWheelError as e:
        raise RepairFailedError(f"the build made a pure Python wheel: {e.message}") from e
    except ManywheelError as e:
        raise RepairFailedError(f"repair: {e}") from e
    plan = result.plan
    for graft in plan.grafts if plan is not None else ():
        log.write(f"manywheel: grafted {graft.source} as {graft.member}\n".encode())
    log.write(f"manywheel: repaired: {result.output.name}\n".encode())
    return result
