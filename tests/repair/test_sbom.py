"""The SBOM a repair adds when grafted libraries come from system packages, against dpkg itself
(``dpkg-query``) and against auditwheel 6.8.2 on the same wheel: the same document, components
and package URLs, naming manywheel as the tool."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from manywheel.audit import AuditOptions
from manywheel.linker import RootFileSystem
from manywheel.repair import ElfPatcher, RepairRequest, SystemPackages, repair_wheel, sbom_document
from manywheel.repair.sbom import auditwheel_path, sbom_bytes
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


def test_sbom_names_the_package_of_each_grafted_library(
    natives: Natives, patcher: ElfPatcher, ffi_yaml: Path, tmp_path: Path
) -> None:
    result = repair_wheel(
        ffi_yaml,
        tmp_path,
        RepairRequest(
            patcher=patcher,
            audit=AuditOptions(extra_ldpaths=(str(natives.libdir),)),
            tool_version="9.8.7",
        ),
    )
    assert result.plan is not None and len(result.plan.grafts) == 2
    document = _sbom(result.output)
    assert document is not None
    assert result.sbom == "sbompkg-1.0.dist-info/sboms/auditwheel.cdx.json"
    expected = sorted(_dpkg_purl(g.source) for g in result.plan.grafts)
    assert sorted(c["purl"] for c in document["components"][1:]) == expected
    assert [o.purl for _, o in result.sbom_packages] == expected
    wheel_purl = f"pkg:pypi/sbompkg@1.0?file_name={result.output.name}"
    assert document["metadata"]["component"]["purl"] == wheel_purl
    assert document["metadata"]["tools"] == [{"name": "manywheel", "version": "9.8.7"}]
    assert (document["bomFormat"], document["specVersion"]) == ("CycloneDX", "1.4")


def test_without_new_tags_the_sbom_names_the_wheel_as_it_is(repair: Repair, ffi_yaml: Path) -> None:
    result = repair(ffi_yaml, update_tags=False)
    assert result.output.name == ffi_yaml.name
    document = _sbom(result.output)
    assert document is not None
    assert document["metadata"]["component"]["purl"].endswith(f"file_name={ffi_yaml.name}")


AUDITWHEEL_TOOL = b'"tools": [{"name": "auditwheel", "version": "6.8.2"}]'


def _sbom_bytes(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as z:
        (name,) = [n for n in z.namelist() if n.endswith("/sboms/auditwheel.cdx.json")]
        return z.read(name)


def test_sbom_is_auditwheels_file_but_the_tool(
    ffi_yaml: Path, natives: Natives, patcher: ElfPatcher, tmp_path: Path
) -> None:
    """``auditwheel repair`` and manywheel on the same wheel: the same bytes (compact JSON in
    auditwheel's order, bom-refs hashing the path as auditwheel's lddtree spells it,
    ``/lib/x86_64-linux-gnu/libffi.so.8.1.2`` on a merged-/usr Debian) but for the tool."""
    theirs = _sbom_bytes(run_auditwheel(ffi_yaml, tmp_path / "auditwheel", natives))
    result = repair_wheel(
        ffi_yaml,
        tmp_path / "manywheel",
        RepairRequest(
            patcher=patcher,
            audit=AuditOptions(extra_ldpaths=(str(natives.libdir),)),
            tool_version="1.2.3",
        ),
    )
    ours = _sbom_bytes(result.output)
    assert theirs.count(AUDITWHEEL_TOOL) == 1
    tool = b'"tools": [{"name": "manywheel", "version": "1.2.3"}]'
    assert ours.replace(tool, AUDITWHEEL_TOOL) == theirs
    assert not ours.endswith(b"\n")


def test_same_paths_give_auditwheels_bytes_but_the_tool(repair: Repair, ffi_yaml: Path) -> None:
    """Given the same library paths (as auditwheel's lddtree spells them), auditwheel's own
    create_sbom_for_wheel (with its whichprovides asking dpkg), written as auditwheel writes it,
    and manywheel's document are the same bytes, bom-refs included."""
    result = repair(ffi_yaml)
    assert result.plan is not None
    grafted = {s for g in result.plan.grafts for s in g.sonames}
    fs = RootFileSystem("/")
    paths = [
        auditwheel_path(fs, lib.path)
        for lib in result.report.external
        if lib.soname in grafted and lib.path is not None
    ]
    assert len(paths) == 2
    script = (
        "import json, sys; from pathlib import Path;"
        "from auditwheel.sboms import create_sbom_for_wheel as c;"
        "sys.stdout.write(json.dumps(c(sys.argv[1], [Path(p) for p in sys.argv[2:]])))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, result.output.name, *paths],
        capture_output=True,
        text=True,
        check=True,
    )
    ours = sbom_document(
        WheelFilename.parse(result.output.name),
        SystemPackages().owners(paths),
        tool=("auditwheel", "6.8.2"),
    )
    assert ours is not None
    assert sbom_bytes(ours) == done.stdout.encode()


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
    assert data == json.dumps(json.loads(data)).encode()  # as auditwheel writes it


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
    natives: Natives, trixie_root: Path, patcher: ElfPatcher, tmp_path: Path
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
        wheel, tmp_path, RepairRequest(patcher=patcher, audit=AuditOptions(root=str(trixie_root)))
    )
    assert result.plan is not None
    (graft,) = result.plan.grafts
    assert graft.file == f"{trixie_root}{graft.source}"
    document = _sbom(result.output)
    assert document is not None
    (component,) = document["components"][1:]
    assert component["purl"] == _dpkg_purl(graft.source, trixie_root / "var/lib/dpkg")
    # The root's own file was grafted (its hash is in the name), not this machine's.
    root_digest = hashlib.sha256(Path(graft.file).read_bytes()).hexdigest()
    host_libffi = Path("/usr/lib/x86_64-linux-gnu/libffi.so.8").resolve()
    host_digest = hashlib.sha256(host_libffi.read_bytes()).hexdigest()
    assert root_digest != host_digest
    assert graft.name.split(".")[0].endswith(f"-{root_digest[:8]}")
    with zipfile.ZipFile(result.output) as z:
        assert z.read(graft.member)[:4] == b"\x7fELF"
