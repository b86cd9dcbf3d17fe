"""Native dependencies from a distribution's packages, in the environments that have one:
PyYAML's sdist built in a Debian root (``--env debian:bookworm``) with before-all installing
libyaml-dev through apt (the repaired wheel carries libyaml and auditwheel's SBOM naming Debian's
package, and its compiled module imports in a clean bookworm root without libyaml); and the demo
built in a container (``--env container:IMAGE``) whose before-all installs zlib's headers."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.build.conftest import EXAMPLES, run_build
from tests.harness.availability import skip_or_fail
from tests.harness.cache import HarnessCache, exclusive_lock
from tests.harness.install import Outcome, install_and_import

pytestmark = [pytest.mark.slow, pytest.mark.network, pytest.mark.root]

PYYAML = "6.0.2"


def _pyyaml_sdist() -> Path:
    """PyYAML's sdist from the index, downloaded once into the harness cache."""
    cache = HarnessCache.default()
    directory = cache.root / "sdists"
    with exclusive_lock(cache, "sdist-pyyaml"):
        found = sorted(directory.glob(f"pyyaml-{PYYAML}.tar.gz"))
        if found:
            return found[0]
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        result = subprocess.run(
            [*pip, "--dest", str(directory), f"pyyaml=={PYYAML}"],
            capture_output=True,
            text=True,
            check=False,
        )
        found = sorted(directory.glob(f"pyyaml-{PYYAML}.tar.gz"))
        if result.returncode != 0 or not found:
            skip_or_fail(f"pyyaml {PYYAML}'s sdist cannot be had: {result.stderr.strip()[-300:]}")
        return found[0]


def test_pyyaml_with_libyaml_from_apt_in_a_debian_root(tmp_path: Path, bookworm_root: Path) -> None:
    call = run_build(
        [
            str(_pyyaml_sdist()),
            "-w",
            str(tmp_path / "wh"),
            "--env",
            "debian:bookworm",
            "--build",
            "cp311-manylinux_x86_64",
            "--before-all",
            "apt-get install -y -q libyaml-dev",
            "--make-interpreters",
            "--json",
        ],
        log_dir=tmp_path / "logs",
    )
    assert call.code == 0, call.stderr
    build = call.builds()["cp311-manylinux_x86_64"]
    assert [g["member"].split("-")[0] for g in build["grafted"]] == ["pyyaml.libs/libyaml"]
    wheel = Path(build["path"])
    with zipfile.ZipFile(wheel) as archive:
        sbom = json.loads(archive.read("pyyaml-6.0.2.dist-info/sboms/auditwheel.cdx.json"))
    assert any(c["purl"].startswith("pkg:deb/debian/libyaml-0-2@") for c in sbom["components"])
    result = install_and_import(
        bookworm_root, wheel, "yaml._yaml", code="import yaml; print(yaml.__with_libyaml__)"
    )
    assert result.outcome is Outcome.IMPORTED, result.stderr
    assert result.stdout.strip().endswith("True")


def test_container_environment_with_an_image_made_from_a_debian_root(
    tmp_path: Path, bookworm_root: Path
) -> None:
    """``--env container:IMAGE`` through podman (or docker): no image can be pulled here, so the
    image is imported from the packed bookworm build root. before-all installs zlib's headers
    with apt and builds libdemo into /usr/local; the repair grafts it from the container."""
    from manywheel.build import UnavailableError, find_engine, fit_engine, root_image
    from manywheel.build.debian import build_root_spec
    from tests.harness.roots import root_store

    try:
        engine = find_engine()
        image = root_image(
            engine, root_store(HarnessCache.default()), build_root_spec("bookworm", "amd64", "3.11")
        )
        fit_engine(engine, image)
    except UnavailableError as e:
        skip_or_fail(str(e))
    call = run_build(
        [
            str(EXAMPLES / "demo"),
            "-w",
            str(tmp_path / "wh"),
            "--env",
            f"container:{image}",
            "--build",
            "cp311-manylinux_x86_64",
            "--before-all",
            "apt-get install -y -q zlib1g-dev && CC=gcc ./build-libdemo.sh",
            "--json",
        ],
        log_dir=tmp_path / "logs",
    )
    assert call.code == 0, call.stderr
    assert call.document["environment"] == f"container:{image}"
    build = call.builds()["cp311-manylinux_x86_64"]
    assert [g["source"] for g in build["grafted"]] == ["/usr/local/lib/libdemo.so.1"]
    result = install_and_import(
        bookworm_root, Path(build["path"]), "demo", code="print(demo.greeting())"
    )
    assert result.outcome is Outcome.IMPORTED, result.stderr
