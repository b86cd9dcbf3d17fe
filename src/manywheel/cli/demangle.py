"""C++ symbol names as people read them (``_ZdlPvm`` is ``operator delete(void*, unsigned
long)``), for text output; JSON keeps the mangled names and puts the demangled ones beside them.

The demangler is binutils' ``c++filt``, run once per batch of names with the names on its
stdin. Why that and not the others:

- it is the reference implementation of the Itanium C++ ABI's demangling (libiberty's, the one
  GNU ``nm -C``, ``objdump -C`` and gdb use), present wherever C++ wheels are built;
- the names are data to it: nothing from an audited wheel is run, and a name crafted to crash a
  demangler (libiberty had such bugs, as had libstdc++'s ``__cxa_demangle``, which shares its
  code) can only end the ``c++filt`` process — never manywheel, as ``__cxa_demangle`` through
  ctypes in-process could;
- a pure-Python Itanium demangler is thousands of lines to keep right (templates, lambdas,
  ABI tags, substitutions) for output that is only read by people.

Only names that look mangled (``_Z...``, printable, at most :data:`MAX_NAME` long) are sent.
Without ``c++filt`` (or when it fails or takes longer than :data:`TIMEOUT` seconds), names are
shown as they are and ``-v`` says why: output degrades, the command does not fail.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from manywheel.lazy import lazy_logger

__all__ = ["MAX_NAME", "TIMEOUT", "Demangler"]

logger = lazy_logger(__name__)

#: Longer names are left as they are (real C++ names are rarely longer than a few hundred).
MAX_NAME = 4096
TIMEOUT = 60.0


def _mangled(name: str) -> bool:
    return (
        name.startswith("_Z") and len(name) <= MAX_NAME and name.isprintable() and " " not in name
    )


class Demangler:
    """Demangles names with ``c++filt`` found on ``path`` (``None``: the process's ``PATH``),
    remembering what it was told; a name it cannot demangle stays as it is."""

    def __init__(self, path: str | None = None) -> None:
        self._path = path
        self._known: dict[str, str] = {}
        self._tool: str | bool | None = False  # False: not looked for yet
        self._warned = False

    def demangle(self, names: Iterable[str]) -> Mapping[str, str]:
        """Each name of ``names`` that demangles to something else, with its demangled form."""
        wanted = [n for n in dict.fromkeys(names) if _mangled(n) and n not in self._known]
        if wanted:
            self._known.update(self._run(wanted))
        return {n: d for n in dict.fromkeys(names) if (d := self._known.get(n, n)) != n}

    def __call__(self, name: str) -> str:
        """One name, demangled (from what :meth:`demangle` was given, or asked now)."""
        if name not in self._known and _mangled(name):
            self.demangle([name])
        return self._known.get(name, name)

    def _run(self, names: list[str]) -> dict[str, str]:
        import subprocess  # (with shutil: 4 ms of imports a wheel without C++ names never needs)

        tool = self._find()
        if tool is None:
            return {n: n for n in names}
        try:
            done = subprocess.run(
                [tool],
                input="\n".join(names) + "\n",
                capture_output=True,
                text=True,
                errors="replace",
                timeout=TIMEOUT,
                env={"LC_ALL": "C"},
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as e:
            return self._give_up(names, f"{tool} failed: {e}")
        lines = done.stdout.splitlines()
        if done.returncode != 0 or len(lines) != len(names):
            return self._give_up(names, f"{tool} answered {len(lines)} of {len(names)} names")
        return dict(zip(names, lines, strict=True))

    def _find(self) -> str | None:
        if self._tool is False:
            import shutil

            self._tool = shutil.which("c++filt", path=self._path)
            if self._tool is None:
                self._say("c++filt (binutils) is not installed: C++ names are shown mangled")
        return self._tool if isinstance(self._tool, str) else None

    def _give_up(self, names: list[str], why: str) -> dict[str, str]:
        self._say(f"{why}: C++ names are shown mangled")
        return {n: n for n in names}

    def _say(self, message: str) -> None:
        if not self._warned:
            self._warned = True
            logger.info("%s", message)
