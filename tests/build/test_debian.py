"""The ``debian:SUITE`` environment, driven through the Environment/Session Protocols as the
build runner drives it: which identifiers it can build, and PyYAML built in bookworm with
before-all installing libyaml-dev, repaired against the root (libyaml grafted from the root,
not the host), then proven in a clean root that has no libyaml."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from manywheel.build.debian import DebianEnvironment, build_root_spec
from manywheel.build.environment import Environment, Workspace
from manywheel.build.identifiers import BuildIdentifier
from manywheel.build.roots import RootStore
from manywheel.build.roots_cache import CacheDirectory
from manywheel.build.roots_systems import CleanSystems
from manywheel.build.testing import TestSettings, TestStatus, test_wheel
from manywheel.repair import PatchelfPatcher
from tests.build.pyyaml_build import build_pyyaml, host_index
from tests.harness.nobody import as_nobody, shared_directory


def _environment(tmp_path: Path) -> DebianEnvironment:
    store = RootStore(CacheDirectory(tmp_path / "cache"), native_arch="amd64")
    return DebianEnvironment("bookworm", store=store, workdir=tmp_path / "work")


@pytest.mark.parametrize(
    ("identifier", "reason"),
    [
        ("cp311-manylinux_x86_64", None),
        ("cp311-manylinux_aarch64", None),
        ("cp312-manylinux_x86_64", "Debian bookworm ships CPython 3.11, not 3.12"),
        ("cp311-musllinux_x86_64", "glibc system: build musllinux wheels with the zig"),
        ("cp313t-manylinux_x86_64", "no free-threaded CPython 3.13t"),
        ("pp310-manylinux_x86_64", "builds CPython wheels only"),
    ],
)
def test_what_bookworm_can_build(tmp_path: Path, identifier: str, reason: str | None) -> None:
    environment = _environment(tmp_path)
    found = environment.unavailable(BuildIdentifier.parse(identifier))
    assert found is None if reason is None else reason in (found or "")
    assert environment.name == "debian:bookworm"


def test_targets_and_platform_tags(tmp_path: Path) -> None:
    environment: Environment = _environment(tmp_path)
    x86 = BuildIdentifier.parse("cp311-manylinux_x86_64")
    arm = BuildIdentifier.parse("cp311-manylinux_aarch64")
    assert environment.target(x86) == "bookworm-amd64-py3.11"
    assert environment.target(arm) == "bookworm-arm64-py3.11"
    assert isinstance(environment, DebianEnvironment)
    assert environment.platform_tag(arm) == "manylinux_2_36_aarch64"


def test_without_qemu_an_arm64_build_is_unavailable(tmp_path: Path) -> None:
    store = RootStore(CacheDirectory(tmp_path), native_arch="amd64")
    environment = DebianEnvironment("bookworm", store=store, binfmt_conf_dirs=[tmp_path])
    reason = environment.unavailable(BuildIdentifier.parse("cp311-manylinux_aarch64"))
    assert reason == (
        "building for aarch64 on this amd64 machine needs qemu-user-static "
        "(apt-get install qemu-user-static)"
    )


@pytest.mark.root
@pytest.mark.slow
@pytest.mark.network
def test_pyyaml_builds_with_before_all_and_carries_the_roots_libyaml(
    root_store: RootStore, patcher: PatchelfPatcher, tmp_path: Path
) -> None:
    identifier = BuildIdentifier.parse("cp311-manylinux_x86_64")
    with DebianEnvironment("bookworm", store=root_store, index=host_index()) as environment:
        with (tmp_path / "missing.log").open("wb") as log:
            workspace = Workspace(tmp_path / "scratch", tmp_path / "prefix")
            workspace.scratch.mkdir()
            with environment.open(identifier, workspace, log) as session:
                missing = ["apt-get", "install", "-y", "no-such-package"]
                cwd = session.inside(workspace.scratch)
                assert session.run(missing, cwd=cwd, env={}, log=log) == 100
        tag = environment.platform_tag(identifier)
        build = build_pyyaml(
            environment,
            identifier,
            tmp_path,
            platform_tag=tag,
            patcher=patcher,
            before_all="apt-get install -y libyaml-dev",
        )
        root = Path(build.audit_root)
    result, built = build.repaired, build.built
    assert result.plan is not None
    (graft,) = result.plan.grafts
    assert graft.sonames == ("libyaml-0.so.2",)
    assert graft.host_path is not None  # read below the root, not from the host's /usr/lib
    assert graft.host_path.startswith(str(root)), graft.host_path
    with zipfile.ZipFile(result.output) as wheel:
        names = wheel.namelist()
        sbom = next(n for n in names if n.endswith("sboms/auditwheel.cdx.json"))
        assert "pkg:deb/debian/libyaml-0-2@" in wheel.read(sbom).decode()
    assert any(n.startswith("yaml/_yaml.cpython-311-x86_64-linux-gnu") for n in names)
    assert not root.exists(), "the environment removes its roots when closed"
    settings = TestSettings(
        command="python -c 'import yaml._yaml; print(yaml.load(\"a: 1\", Loader=yaml.CLoader))'"
    )
    systems = CleanSystems(root_store)
    tested = test_wheel(result.output, systems=systems, settings=settings, project=tmp_path)
    assert tested.status is TestStatus.PASSED, tested.output
    assert tested.output.splitlines()[-1] == "{'a': 1}"
    unrepaired = test_wheel(built, systems=systems, settings=settings, project=tmp_path)
    assert unrepaired.status is TestStatus.FAILED
    assert "libyaml-0.so.2: cannot open shared object file" in unrepaired.output


def _before_all_as_nobody(cache: CacheDirectory, base: Path) -> str:
    identifier = BuildIdentifier.parse("cp311-manylinux_x86_64")
    store = RootStore(cache, native_arch="amd64")
    with (
        DebianEnvironment("bookworm", store=store, workdir=base / "work") as environment,
        (base / "log").open("wb") as log,
    ):
        environment.prepare([identifier], log)
        workspace = Workspace(base / "scratch", base / "prefix")
        workspace.scratch.mkdir()
        with environment.open(identifier, workspace, log) as session:
            command = "apt-get install -y -q libyaml-dev && id -u && ls /usr/include/yaml.h"
            cwd = session.inside(workspace.scratch)
            code = session.run(["sh", "-c", command], cwd=cwd, env={}, log=log)
    return f"{code}\n{(base / 'log').read_text()}"


@pytest.mark.root
@pytest.mark.slow
@pytest.mark.network
def test_before_all_installs_with_apt_without_root(root_store: RootStore) -> None:
    """As nobody, with the build root cached: the environment runs in a user namespace, where
    apt-get update and install work (apt's sandbox user is turned off there)."""
    spec = build_root_spec("bookworm", "amd64", "3.11")
    archive = root_store.archive(spec)
    with shared_directory() as shared:
        cache = CacheDirectory(shared / "cache")
        cache.roots.mkdir(parents=True)
        shutil.copy(archive, cache.roots)
        for path in (cache.root, cache.roots, cache.roots / archive.name):
            path.chmod(0o777)
        outcome = as_nobody(lambda: _before_all_as_nobody(cache, shared))
    code, *output = outcome.splitlines()
    assert code == "0", outcome[-3000:]
    assert output[-2:] == ["0", "/usr/include/yaml.h"]


def test_without_root_an_uncached_root_is_unavailable() -> None:
    with shared_directory() as shared:
        store = RootStore(CacheDirectory(shared / "cache"), native_arch="amd64")
        environment = DebianEnvironment("trixie", store=store, workdir=shared / "work")
        identifier = BuildIdentifier.parse("cp313-manylinux_x86_64")
        reason = as_nobody(lambda: environment.unavailable(identifier))
    assert reason == (
        "the trixie amd64 root is not cached and making it needs root (run manywheel once as root)"
    )
