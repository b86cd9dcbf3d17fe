"""The SBOM a repair adds when grafted libraries come from system packages, against dpkg itself
(``dpkg-query``) and against auditwheel 6.8.2 on the same wheel: the same document, components
and package URLs, naming manywheel as the tool."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

import manywheel
from manywheel.audit import AuditOptions
from manywheel.repair import PatchelfPatcher, SystemPackages, repair_wheel, sbom_document
from manywheel.wheel import WheelArchive, WheelFilename
from tests.repair.fixtures import Repair
from tests.repair.natives import Natives
from tests.repair.reference import run_auditwheel

FFI_YAML = """#include <ffi.h>
#include <yaml.h>
void *uses(void) { yaml_parser_t p; yaml_parser_initialize(&p); return &ffi_type_sint; }"""


def _dpkg_purl(path: str, admindir: Path | None = None) -> str:
    """The package URL whichprovides would give ``path``, from dpkg-query itself."""
    admin = [f"--admindir={admindir}"] if admindir else []
    owner = subprocess.run(
        ["dpkg-query", *admin, "-S", path], capture_output=True, text=True, check=True
    ).stdout
    package = owner.split(":", 1)[0]
    version = subprocess.run(
        ["dpkg-query", *admin, "-W", "-f=${Version}", package],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    release = (admindir.parent.parent.parent if admindir else Path("/")) / "etc/os-release"
    distro = re.search(r"^ID=\"?([^\"\n]+)", release.read_text(), re.MULTILINE)
    assert distro is not None
    return f"pkg:deb/{distro.group(1)}/{package}@{version}"


def _sbom(wheel: Path) -> dict[str, Any] | None:
    with zipfile.ZipFile(wheel) as z:
        names = [n for n in z.namelist() if n.endswith("/sboms/auditwheel.cdx.json")]
        assert len(names) <= 1
        return json.loads(z.read(names[0])) if names else None


def _without_paths(document: dict[str, Any]) -> dict[str, Any]:
    """The document with each bom-ref's ``#<sha256 of the library's path>`` dropped, and no
    tools: what is the same whichever spelling of a path the tool resolved."""

    def strip(ref: str) -> str:
        return ref.split("#", 1)[0]

    out: dict[str, Any] = json.loads(json.dumps(document))
    out["metadata"].pop("tools")
    for component in out["components"]:
        component["bom-ref"] = strip(component["bom-ref"])
    for dependency in out["dependencies"]:
        dependency["ref"] = strip(dependency["ref"])
        if "dependsOn" in dependency:
            dependency["dependsOn"] = [strip(r) for r in dependency["dependsOn"]]
    return out


@pytest.fixture(scope="module")
def ffi_yaml(natives: Natives) -> Path:
    """Grafts libffi and libyaml, both from Debian packages on this machine."""
    ext = natives.extension(
        "sbomext",
        "uses();",
        ["-lffi", "-lyaml"],
        body=FFI_YAML,
        extra=["-Wl,--no-as-needed", "-lc"],
    )
    return natives.wheel("sbompkg", {"sbompkg/sbomext.so": ext})


def test_sbom_names_the_package_of_each_grafted_library(repair: Repair, ffi_yaml: Path) -> None:
    result = repair(ffi_yaml)
    assert result.plan is not None and len(result.plan.grafts) == 2
    document = _sbom(result.output)
    assert document is not None
    assert result.sbom == "sbompkg-1.0.dist-info/sboms/auditwheel.cdx.json"
    expected = sorted(_dpkg_purl(g.source) for g in result.plan.grafts)
    assert sorted(c["purl"] for c in document["components"][1:]) == expected
    assert [o.purl for _, o in result.sbom_packages] == expected
    wheel_purl = f"pkg:pypi/sbompkg@1.0?file_name={result.output.name}"
    assert document["metadata"]["component"]["purl"] == wheel_purl
    assert document["metadata"]["tools"] == [
        {"name": "manywheel", "version": manywheel.__version__}
    ]
    assert (document["bomFormat"], document["specVersion"]) == ("CycloneDX", "1.4")


def test_without_new_tags_the_sbom_names_the_wheel_as_it_is(repair: Repair, ffi_yaml: Path) -> None:
    result = repair(ffi_yaml, update_tags=False)
    assert result.output.name == ffi_yaml.name
    document = _sbom(result.output)
    assert document is not None
    assert document["metadata"]["component"]["purl"].endswith(f"file_name={ffi_yaml.name}")


def test_sbom_is_auditwheels_document(
    repair: Repair, ffi_yaml: Path, natives: Natives, tmp_path: Path
) -> None:
    """Everything but the tool and the hash of the path (auditwheel hashes the path as its
    lddtree spells it, ``/lib/x86_64-linux-gnu/...``; manywheel the resolved one)."""
    theirs = _sbom(run_auditwheel(ffi_yaml, tmp_path / "auditwheel", natives))
    ours = _sbom(repair(ffi_yaml, tmp_path / "manywheel").output)
    assert theirs is not None and ours is not None
    assert theirs["metadata"]["tools"] == [{"name": "auditwheel", "version": "6.8.2"}]
    assert _without_paths(ours) == _without_paths(theirs)


def test_same_paths_give_auditwheels_bytes_but_the_tool(repair: Repair, ffi_yaml: Path) -> None:
    """Given the same library paths, auditwheel's own create_sbom_for_wheel (with its
    whichprovides asking dpkg) and manywheel's document are equal, bom-refs included."""
    result = repair(ffi_yaml)
    assert result.plan is not None
    paths = [g.source for g in result.plan.grafts]
    script = (
        "import json, sys; from pathlib import Path;"
        "from auditwheel.sboms import create_sbom_for_wheel as c;"
        "print(json.dumps(c(sys.argv[1], [Path(p) for p in sys.argv[2:]])))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, result.output.name, *paths],
        capture_output=True,
        text=True,
        check=True,
    )
    theirs = json.loads(done.stdout)
    ours = sbom_document(
        WheelFilename.parse(result.output.name),
        SystemPackages().owners(paths),
        tool=("auditwheel", "6.8.2"),
    )
    assert ours == theirs


def test_no_sbom_when_no_package_owns_a_graft(repair: Repair, natives: Natives) -> None:
    ext = natives.extension("nosbom", "foo(1);", ["-lfoo"], body="int foo(int);")
    result = repair(natives.wheel("nosbom", {"nosbom.so": ext}))
    assert result.plan is not None and result.plan.grafts
    assert (result.sbom, result.sbom_packages) == (None, ())
    assert _sbom(result.output) is None


def test_sbom_is_recorded_and_reproducible(repair: Repair, ffi_yaml: Path, tmp_path: Path) -> None:
    first = repair(ffi_yaml, tmp_path / "a").output
    second = repair(ffi_yaml, tmp_path / "b").output
    assert first.read_bytes() == second.read_bytes()
    with WheelArchive.open(first) as archive:
        row = archive.record.by_path()["sbompkg-1.0.dist-info/sboms/auditwheel.cdx.json"]
        assert row.size == len(archive.read_member(row.path))
    assert (
        subprocess.run(
            [sys.executable, "-m", "manywheel", "verify", str(first)],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    with zipfile.ZipFile(first) as z:
        data = z.read("sbompkg-1.0.dist-info/sboms/auditwheel.cdx.json")
    assert data == (json.dumps(json.loads(data), indent=2, sort_keys=True) + "\n").encode()


STALE = b'{"stale": true}'


def test_an_existing_sbom_is_replaced(natives: Natives, repair: Repair, tmp_path: Path) -> None:
    ext = natives.extension("stale", "uses();", ["-lffi", "-lyaml"], body=FFI_YAML)
    member = "stalepkg-1.0.dist-info/sboms/auditwheel.cdx.json"
    wheel = natives.wheel("stalepkg", {"stale.so": ext, member: STALE})
    output = repair(wheel).output
    with zipfile.ZipFile(output) as z:
        assert z.namelist().count(member) == 1 and z.read(member) != STALE
    assert _sbom(output) is not None


def test_an_existing_sbom_stays_when_no_package_owns_a_graft(
    natives: Natives, repair: Repair
) -> None:
    ext = natives.extension("keepsbom", "foo(1);", ["-lfoo"], body="int foo(int);")
    member = "keepsbom-1.0.dist-info/sboms/auditwheel.cdx.json"
    output = repair(natives.wheel("keepsbom", {"keepsbom.so": ext, member: STALE})).output
    with zipfile.ZipFile(output) as z:
        assert z.read(member) == STALE


@pytest.mark.root
def test_with_root_the_packages_are_the_roots(
    natives: Natives, trixie_root: Path, patcher: PatchelfPatcher, tmp_path: Path
) -> None:
    """libffi grafted from a Debian 13 root is named with the root's libffi8, not this
    machine's: the root's dpkg database answers."""
    ext = natives.extension(
        "rootffi",
        "(void)&ffi_type_sint;",
        ["-lffi"],
        body="#include <ffi.h>",
        extra=["-Wl,--no-as-needed"],
    )
    wheel = natives.wheel("rootffi", {"rootffi.so": ext})
    result = repair_wheel(
        wheel, tmp_path, patcher=patcher, audit=AuditOptions(root=str(trixie_root))
    )
    assert result.plan is not None
    (graft,) = result.plan.grafts
    assert graft.file == f"{trixie_root}{graft.source}"
    document = _sbom(result.output)
    assert document is not None
    (component,) = document["components"][1:]
    assert component["purl"] == _dpkg_purl(graft.source, trixie_root / "var/lib/dpkg")
    with zipfile.ZipFile(result.output) as z:
        assert z.read(graft.member)[:4] == b"\x7fELF"
