"""The real loader as the oracle: run trusted programs (built by our script, or Debian's own) in
trace mode, where the loader maps the libraries and runs nothing of the program, and read what it
chose (``LD_TRACE_LOADED_OBJECTS=1``, as ``ldd`` does) and why (``LD_DEBUG=libs``)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from manywheel.linker import DependencyTree, Flavor, Rule

GLIBC_LOADER = "/lib64/ld-linux-x86-64.so.2"
MUSL_LOADER = "/lib/ld-musl-x86_64.so.1"
VDSO_NAMES = ("linux-vdso.so.1",)

_FOUND = re.compile(r"^\t(\S+) => (\S+) \(0x[0-9a-f]+\)$")
_NOT_FOUND = re.compile(r"^\t(\S+) => not found$")
_BARE = re.compile(r"^\t(\S+) \(0x[0-9a-f]+\)$")
_VERSION = re.compile(r"(/\S+): version `([^']+)' not found \(required by ([^)]+)\)")
_MUSL_MISSING = re.compile(r"^Error loading shared library (\S+): ", re.MULTILINE)
_FIND = re.compile(r"find library=(\S+) \[\d+\]; searching")
_SOURCE = re.compile(r" search path=\S*\s+\((.*)\)$")
_TRYING = re.compile(r"trying file=(\S+)")


@dataclass(frozen=True, slots=True)
class LoaderReport:
    #: NEEDED name -> path (``None``: not found), one entry per loaded object, as ldd lists them.
    chosen: dict[str, str | None]
    #: (requester, library, version) for each version the loader found missing.
    version_failures: frozenset[tuple[str, str, str]]
    #: NEEDED name -> (rule, owner of the search path) from LD_DEBUG=libs, for searched names.
    sources: dict[str, tuple[Rule, str | None]]
    #: The glibc-hwcaps and legacy subdirectories the loader tried in each system directory.
    system_subdirs: tuple[str, ...]
    #: "error while loading shared libraries: WHAT" when the loader gave up.
    error: str | None = None


def run_loader(
    path: str,
    *,
    environ: Mapping[str, str] | None = None,
    musl: bool = False,
    cwd: str | None = None,
) -> LoaderReport:
    env = {"PATH": "/usr/bin:/bin", "LD_TRACE_LOADED_OBJECTS": "1", **(environ or {})}
    if not musl:
        env["LD_DEBUG"] = "libs"
    loader = MUSL_LOADER if musl else GLIBC_LOADER
    argv = [loader, "--list", path] if musl else [loader, path]
    done = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=30, check=False, cwd=cwd
    )
    chosen = _chosen(done.stdout, path)
    for name in _MUSL_MISSING.findall(done.stderr) if musl else ():
        chosen.setdefault(name, None)
    return LoaderReport(
        chosen,
        frozenset((req, lib, v) for lib, v, req in _VERSION.findall(done.stdout + done.stderr)),
        _sources(done.stderr),
        _system_subdirs(done.stderr),
        _error(done.stdout + done.stderr),
    )


def _error(output: str) -> str | None:
    m = re.search(r"error while loading shared libraries: (.*)$", output, re.MULTILINE)
    return m.group(1) if m else None


def _chosen(stdout: str, root: str) -> dict[str, str | None]:
    chosen: dict[str, str | None] = {}
    for line in stdout.splitlines():
        if m := _FOUND.match(line):
            chosen.setdefault(m.group(1), m.group(2))
        elif m := _NOT_FOUND.match(line):
            chosen.setdefault(m.group(1), None)
        elif (m := _BARE.match(line)) and m.group(1) not in VDSO_NAMES and m.group(1) != root:
            chosen.setdefault(m.group(1), m.group(1))
    return chosen


def _rule_of(source: str) -> tuple[Rule, str | None]:
    for prefix, rule in (("RPATH from file ", Rule.RPATH), ("RUNPATH from file ", Rule.RUNPATH)):
        if source.startswith(prefix):
            return rule, source[len(prefix) :]
    return (Rule.LD_LIBRARY_PATH if source == "LD_LIBRARY_PATH" else Rule.DEFAULT_DIRS), None


def _sources(stderr: str) -> dict[str, tuple[Rule, str | None]]:
    sources: dict[str, tuple[Rule, str | None]] = {}
    name: str | None = None
    current: tuple[Rule, str | None] | None = None
    for line in stderr.splitlines():
        if m := _FIND.search(line):
            name, current = m.group(1), None
        elif name is None:
            continue
        elif " search cache=" in line:
            current = (Rule.LD_SO_CACHE, None)
        elif m := _SOURCE.search(line):
            current = _rule_of(m.group(1))
        elif _TRYING.search(line) and current is not None:
            sources[name] = current  # the last one tried is the one taken (or none was)
    return sources


def _system_subdirs(stderr: str) -> tuple[str, ...]:
    for line in stderr.splitlines():
        if line.endswith("(system search path)"):
            entries = line.split("search path=", 1)[1].split()[0].split(":")
            for index, base in enumerate(entries):
                if index and all(e.startswith(base + "/") for e in entries[:index]):
                    return tuple(e[len(base) + 1 :] for e in entries[:index])
    return ()


def emulated(tree: DependencyTree) -> dict[str, str | None]:
    """What the tree says the loader chose, keyed like :attr:`LoaderReport.chosen`."""
    chosen: dict[str, str | None] = {}
    for obj in tree.objects[1:]:
        if obj.found_by is not None:
            chosen.setdefault(obj.found_by.name, obj.path)
        elif obj is tree.interpreter and _referenced(tree):
            # glibc hides its own map from the list unless an object names it in DT_NEEDED.
            chosen.setdefault(obj.path, obj.path)
    if tree.flavor is Flavor.MUSL:  # musl's ldd lists "libc.so => <the loader>" too
        for obj in tree.objects:
            for r in obj.needed:
                if r.rule is Rule.INTERPRETER:
                    chosen.setdefault(r.name, r.path)
    for missing in tree.not_found:
        chosen.setdefault(missing.name, None)
    return chosen


def _referenced(tree: DependencyTree) -> bool:
    return tree.flavor is Flavor.MUSL or any(
        r.rule is Rule.INTERPRETER for obj in tree.objects for r in obj.needed
    )


def emulated_failures(tree: DependencyTree) -> frozenset[tuple[str, str, str]]:
    return frozenset((f.requester, f.library, f.version) for f in tree.version_failures)


_INIT = re.compile(r"calling init: (\S+)")


def run_program(argv: list[str]) -> tuple[dict[str, tuple[Rule, str | None]], tuple[str, ...]]:
    """Run a trusted fixture program under LD_DEBUG=libs: the search source of each name it
    looked for, and every object it initialised (everything it loaded, dlopen()ed ones too)."""
    env = {"PATH": "/usr/bin:/bin", "LD_DEBUG": "libs"}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30, check=False)
    return _sources(done.stderr), tuple(_INIT.findall(done.stderr))
