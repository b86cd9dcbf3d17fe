"""Resolving an object as a program would dlopen() it, against the program doing so."""

from __future__ import annotations

from pathlib import Path

from manywheel.linker import Resolver, RootFileSystem, Rule

from .oracle import run_program


def test_the_host_programs_rpath_serves_a_dlopened_object(built: Path) -> None:
    host, ext = f"{built}/bin/dlopen_host", f"{built}/dl/ext/ext.so"
    sources, initialised = run_program([host, ext])
    tree = Resolver(RootFileSystem("/")).resolve(ext, loaded_by=host)
    assert tree.host is not None and tree.host.path == host
    assert tree.root.path == ext
    dep = tree.root.needed[0]
    assert (dep.rule, dep.entry_owner) == sources["libhostdep.so"] == (Rule.RPATH, host)
    assert dep.path in initialised
    assert ext in initialised
    assert dep.loader_chain == (ext, host)
    libc = next(r for r in tree.root.needed if r.name == "libc.so.6")
    assert libc.rule is Rule.ALREADY_LOADED  # the host loaded it first
    assert tree.ok


def test_alone_the_same_object_misses_that_dependency(built: Path) -> None:
    tree = Resolver(RootFileSystem("/")).resolve(f"{built}/dl/ext/ext.so")
    assert [r.name for r in tree.not_found] == ["libhostdep.so"]
    assert tree.host is None
