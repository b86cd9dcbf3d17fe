"""The ``container:IMAGE`` environment with a real engine: the engine is found (or one line
says why none works), an image is made from a packed Debian root, and PyYAML is built in a
container whose before-all installs libyaml-dev, repaired against the live container and
proven in a clean root."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from manywheel.build.container import (
    ContainerEngine,
    ContainerEnvironment,
    find_engine,
    fit_engine,
    root_image,
)
from manywheel.build.debian import build_root_spec
from manywheel.build.identifiers import BuildIdentifier
from manywheel.build.roots import RootStore
from manywheel.build.roots_errors import UnavailableError
from manywheel.build.roots_systems import CleanSystems
from manywheel.build.testing import TestSettings, TestStatus, test_wheel
from manywheel.repair import PatchelfPatcher
from tests.build.pyyaml_build import build_pyyaml, host_index
from tests.harness.availability import skip_or_fail


def test_no_engine_is_one_line_with_each_reason() -> None:
    with pytest.raises(UnavailableError) as error:
        find_engine(("no-such-engine", "docker"))
    message = str(error.value)
    assert message.startswith("no container engine works here (no-such-engine is not installed")
    assert "\n" not in message
    docker = subprocess.run(["docker", "info"], capture_output=True, check=False)
    if docker.returncode != 0:  # here: a client without a daemon
        assert "; docker: " in message


@pytest.fixture(scope="module")
def engine() -> ContainerEngine:
    try:
        return find_engine(("podman",))
    except UnavailableError as e:
        skip_or_fail(str(e))


@pytest.fixture(scope="module")
def build_image(engine: ContainerEngine, root_store: RootStore) -> tuple[ContainerEngine, str]:
    """A bookworm build root (gcc, python3.11-dev) as a podman image, and the engine as this
    machine needs it run."""
    image = root_image(engine, root_store, build_root_spec("bookworm", "amd64", "3.11"))
    try:
        return fit_engine(engine, image), image
    except UnavailableError as e:
        skip_or_fail(str(e))


@pytest.mark.root
@pytest.mark.slow
def test_an_image_from_a_root_runs(build_image: tuple[ContainerEngine, str]) -> None:
    engine, image = build_image
    assert image.startswith("localhost/manywheel/bookworm-with-")
    argv = engine("run", "--rm", *engine.run_options, image, "sh", "-c", "gcc --version; env")
    result = subprocess.run(argv, capture_output=True, text=True, check=True)
    assert result.stdout.startswith("gcc (Debian 12")
    assert "PIP_" not in result.stdout  # nothing of the host's environment


@pytest.mark.root
@pytest.mark.slow
@pytest.mark.network
def test_pyyaml_builds_in_a_container_and_carries_its_libyaml(
    build_image: tuple[ContainerEngine, str],
    root_store: RootStore,
    patcher: PatchelfPatcher,
    tmp_path: Path,
) -> None:
    engine, image = build_image
    identifier = BuildIdentifier.parse("cp311-manylinux_x86_64")
    with ContainerEnvironment(image, engine=engine, index=host_index()) as environment:
        assert environment.unavailable(identifier) is None
        assert environment.unavailable(BuildIdentifier.parse("cp311-manylinux_aarch64")) == (
            f"{image} is an x86_64 image, not aarch64"
        )
        build = build_pyyaml(
            environment,
            identifier,
            tmp_path,
            platform_tag="manylinux_2_36_x86_64",
            patcher=patcher,
            before_all="apt-get update -q && apt-get install -y -q libyaml-dev",
        )
        committed = list(environment._committed)
        assert len(committed) == 1, "before-all's install is kept for the builds"
    gone = subprocess.run(engine("image", "exists", committed[0]), check=False)
    assert gone.returncode == 1, "the environment removes the images it committed"
    assert build.audit_root.startswith("/proc/")
    assert build.repaired.plan is not None
    (graft,) = build.repaired.plan.grafts
    assert graft.sonames == ("libyaml-0.so.2",)
    assert graft.host_path is not None and graft.host_path.startswith(build.audit_root)
    settings = TestSettings(command="python -c 'import yaml._yaml'")
    result = test_wheel(
        build.repaired.output, systems=CleanSystems(root_store), settings=settings, project=tmp_path
    )
    assert result.status is TestStatus.PASSED, result.output


@pytest.mark.root
@pytest.mark.slow
def test_auto_finds_an_image_the_engine_has_and_nothing_else(
    build_image: tuple[ContainerEngine, str], tmp_path: Path
) -> None:
    """``--env auto``'s question: an installed engine that already has an image of the
    repository (any tag), asked with one listing; no engine on PATH asks nothing."""
    from manywheel.build import engine_with_image

    engine, image = build_image
    repository = image.rsplit(":", 1)[0]
    environ = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    assert engine_with_image(repository, environ=environ, names=(engine.name,)) == (
        engine.name,
        image,
    )
    missing = "quay.io/pypa/manylinux_2_5_x86_64"
    assert engine_with_image(missing, environ=environ, names=(engine.name,)) is None
    assert engine_with_image(repository, environ={"PATH": str(tmp_path)}) is None
