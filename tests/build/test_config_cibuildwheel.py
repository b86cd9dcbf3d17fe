"""Differential: the same ``pyproject.toml`` and ``CIBW_*`` variables through cibuildwheel 4.3.5's
own option parsing (``cibuildwheel.options.Options``) and through :func:`load_config` give the
same options for every identifier: commands, lists, environments (evaluated by both, with real
command substitutions), tables, frontends, images and the build selection.

The configurations are cibuildwheel's documented examples (docs/options.md, docs/configuration.md)
plus combinations of platform sections, overrides with ``inherit`` and variables."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from manywheel.build import (
    DEFAULT_REPAIR_COMMAND,
    BuildOptions,
    ContainerEngineOption,
    FrontendOption,
    load_config,
    local_runner,
)

cibuildwheel_options = pytest.importorskip("cibuildwheel.options", reason="cibuildwheel missing")
cibuildwheel_arch = pytest.importorskip("cibuildwheel.architecture")

IDENTIFIERS = (
    "cp310-manylinux_x86_64",
    "cp311-manylinux_x86_64",
    "cp311-musllinux_aarch64",
    "cp312-manylinux_i686",
    "cp313-musllinux_x86_64",
    "cp314t-manylinux_x86_64",
    "cp314-manylinux_aarch64",
    "pp311-manylinux_x86_64",
    "cp316-manylinux_x86_64",
    "gp312_250-manylinux_x86_64",
)
#: The base environment both evaluate ``environment`` in.
BASE = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PREV": "1 2  3", "HOME": "/root"}


@dataclass(frozen=True)
class Case:
    id: str
    toml: str
    env: Mapping[str, str] = field(default_factory=dict)


CASES = [
    Case("empty", ""),
    Case(
        "docs-test-command-env",
        "",
        {"CIBW_TEST_REQUIRES": "pytest", "CIBW_TEST_COMMAND": "pytest {project}/tests"},
    ),
    Case(
        "docs-build-skip",
        """
[tool.cibuildwheel]
build = "cp31*-*"
skip = ["cp310-*", "*-*linux_i686", "cp3??t-*"]
""",
    ),
    Case(
        "docs-build-env",
        "",
        {"CIBW_BUILD": "cp311-* cp313-*", "CIBW_SKIP": "*-musllinux*"},
    ),
    Case(
        "docs-braces",
        """
[tool.cibuildwheel]
build = "cp3{10,11,13}-* pp*"
enable = ["pypy"]
""",
    ),
    Case(
        "docs-environment-string",
        """
[tool.cibuildwheel]
environment = "CFLAGS='-g -Wall' CXXFLAGS='-Wall'"
""",
    ),
    Case(
        "docs-environment-table",
        """
[tool.cibuildwheel]
environment = { CFLAGS="-g -Wall", CXXFLAGS="-Wall", PATH="$PATH:/usr/local/bin" }
""",
    ),
    Case(
        "docs-environment-linux-table",
        """
[tool.cibuildwheel]
environment = { CFLAGS="-O0" }

[tool.cibuildwheel.linux.environment]
BUILD_TIME = "$(echo today)"
SAMPLE_TEXT = "sample text"
""",
    ),
    Case(
        "environment-variables",
        """
[tool.cibuildwheel]
environment = "A=from-file"
""",
        {
            "CIBW_ENVIRONMENT": 'A=env B="$PREV x" C=\'$PREV\' D="$(echo "a  b" c)"',
            "CIBW_ENVIRONMENT_LINUX": "E=$A/linux",
        },
    ),
    Case(
        "environment-awkward-quotes",
        "",
        {"CIBW_ENVIRONMENT": 'V=something"like this""$PREV"$(echo "more")"$(echo "and more!")"'},
    ),
    Case(
        "environment-pass",
        """
[tool.cibuildwheel.linux]
environment-pass = ["PASSED", "MISSING"]
environment = { AFTER="$PASSED/x" }
""",
        {"PASSED": "from host"},
    ),
    Case(
        "docs-overrides-musllinux",
        """
[tool.cibuildwheel.linux]
before-all = "yum install mylib"
test-command = "echo 'installed'"

[[tool.cibuildwheel.overrides]]
select = "*-musllinux*"
before-all = "apk add mylib"
""",
    ),
    Case(
        "docs-overrides-images",
        """
[tool.cibuildwheel]
manylinux-x86_64-image = "manylinux_2_34"

[[tool.cibuildwheel.overrides]]
select = "cp310-*"
manylinux-x86_64-image = "manylinux2014"

[[tool.cibuildwheel.overrides]]
select = "cp3{11,12}-*"
manylinux-x86_64-image = "manylinux_2_28"
""",
    ),
    Case(
        "docs-overrides-inherit",
        """
[tool.cibuildwheel]
environment = {FOO="BAR", "HAM"="EGGS"}
test-command = ["pyproject"]

[[tool.cibuildwheel.overrides]]
select = "cp311*"

inherit.test-command = "prepend"
test-command = ["pyproject-before"]

inherit.environment="append"
environment = {FOO="BAZ", "PYTHON"="MONTY"}

[[tool.cibuildwheel.overrides]]
select = "cp311*"
inherit.test-command = "append"
test-command = ["pyproject-after"]
""",
    ),
    Case(
        "docs-inherit-repair",
        """
[[tool.cibuildwheel.overrides]]
select = "*"
inherit.repair-wheel-command = "prepend"
repair-wheel-command = "echo 'Before repair'"

[[tool.cibuildwheel.overrides]]
select = "*"
inherit.repair-wheel-command = "append"
repair-wheel-command = "echo 'After repair'"
""",
    ),
    Case(
        "inherit-lists-and-tables",
        """
[tool.cibuildwheel]
test-requires = ["pytest", "numpy >= 2"]
config-settings = {setup-args = ["-Da=1", "-Db=2"], builddir = "build"}
before-build = ["pip install cython", "echo two"]

[[tool.cibuildwheel.overrides]]
select = "cp31[01]-*"
inherit.test-requires = "append"
test-requires = "hypothesis"
inherit.config-settings = "append"
config-settings = {builddir = "other", extra = "yes"}
inherit.before-build = "prepend"
before-build = "echo first"

[[tool.cibuildwheel.overrides]]
select = "*-musllinux*"
inherit.config-settings = "prepend"
config-settings = {builddir = "musl", new = "1"}
""",
    ),
    Case(
        "platform-section-replaces",
        """
[tool.cibuildwheel]
before-all = "echo global"
test-extras = ["test", "qt"]
test-sources = ["tests", "data/test image.png"]
build-verbosity = 2

[tool.cibuildwheel.linux]
before-all = ["echo linux", "echo more"]
repair-wheel-command = "auditwheel repair --exclude libfoo.so -w {dest_dir} {wheel}"

[tool.cibuildwheel.macos]
before-all = "brew install x"
""",
    ),
    Case(
        "variables-beat-files",
        """
[tool.cibuildwheel]
test-command = "pytest"
test-extras = "a,b"
archs = ["x86_64", "aarch64"]

[[tool.cibuildwheel.overrides]]
select = "cp311-*"
test-command = "pytest -k override"
""",
        {
            "CIBW_TEST_COMMAND": "from-env",
            "CIBW_TEST_COMMAND_LINUX": "from-linux-env",
            "CIBW_ARCHS_LINUX": "aarch64 ppc64le",
            "CIBW_TEST_EXTRAS": "c",
        },
    ),
    Case(
        "frontend-and-engine",
        """
[tool.cibuildwheel]
build-frontend = {name = "build", args = ["--verbose", "-x"]}
container-engine = { name = "podman", create-args = ["--userns", "keep-id"] }
""",
    ),
    Case(
        "frontend-strings",
        """
[tool.cibuildwheel]
build-frontend = "pip; args: --no-build-isolation"
container-engine = "docker; create_args: --gpus all; disable_host_mount: true"
""",
    ),
    Case(
        "requires-python-and-enable",
        """
[project]
name = "x"
version = "1"
requires-python = ">=3.11"

[tool.cibuildwheel]
enable = ["cpython-prerelease", "graalpy"]
test-skip = ["*-musllinux*", "pp*"]
""",
        {"CIBW_ENABLE": "pypy"},
    ),
    Case(
        "test-groups",
        """
[dependency-groups]
test = ["pytest", {include-group = "numeric"}]
numeric = ["numpy>=2"]

[tool.cibuildwheel]
test-groups = ["test"]
test-requires = "hypothesis"
test-environment = { PYTHONSAFEPATH = "1", X = "$PREV/y" }
before-test = "echo before"
""",
    ),
    Case(
        "musllinux-image",
        """
[tool.cibuildwheel]
musllinux-aarch64-image = "quay.io/pypa/musllinux_1_2_aarch64:2025.01.01-1"
manylinux-pypy_x86_64-image = "manylinux2014"
manylinux-i686-image = ""
""",
        {"CIBW_MUSLLINUX_X86_64_IMAGE": "musllinux_1_2"},
    ),
]


def _theirs(project: Path, env: Mapping[str, str]) -> Any:
    args = cibuildwheel_options.CommandLineArguments.defaults()
    args.package_dir = project
    return cibuildwheel_options.Options(platform="linux", command_line_arguments=args, env=env)


def _image(ours: BuildOptions, identifier: str) -> str:
    """Our image setting as cibuildwheel would run it (its default, its pinned names)."""
    python, platform = identifier.split("-", 1)
    family, _, arch = platform.partition("_")
    if python.startswith("pp"):
        arch = f"pypy_{arch}"
    default = "manylinux_2_28" if family == "manylinux" else "musllinux_1_2"
    if family == "manylinux" and arch == "armv7l":
        default = "manylinux_2_31"
    pinned = cibuildwheel_options._get_pinned_container_images()[arch]
    value = ours.image or default
    return str(pinned.get(value, value))


def _compare(ours: BuildOptions, theirs: Any, identifier: str, env: Mapping[str, str]) -> None:
    host = {**BASE, **env}
    assert ours.build_environment(BASE, host, local_runner()) == theirs.environment.as_dictionary(
        BASE
    )
    assert ours.before_all == theirs.before_all
    assert ours.before_build == (theirs.before_build or "")
    # the same command but the tool: manywheel's repair where cibuildwheel runs auditwheel's
    linux_default = "auditwheel repair -w {dest_dir} {wheel}"
    assert ours.repair_command.replace(DEFAULT_REPAIR_COMMAND, linux_default) == (
        theirs.repair_command
    )
    assert ours.test_command == (theirs.test_command or "")
    assert ours.before_test == (theirs.before_test or "")
    assert list(ours.test_sources) == list(theirs.test_sources)
    assert list(ours.test_requires) == list(theirs.test_requires)
    assert ours.test_extras_text == theirs.test_extras
    assert list(ours.test_groups) == list(theirs.test_groups)
    assert ours.test_environment.evaluate(BASE, local_runner()) == (
        theirs.test_environment.as_dictionary(BASE)
    )
    assert (ours.build_frontend or FrontendOption("build")) == FrontendOption(
        theirs.build_frontend.name, tuple(theirs.build_frontend.args)
    )
    assert [f"{k}={v}" for k, v in ours.config_settings] == shlex.split(theirs.config_settings)
    assert ours.build_verbosity == theirs.build_verbosity
    engine = theirs.container_engine
    assert (ours.container_engine or ContainerEngineOption("docker")) == ContainerEngineOption(
        engine.name, tuple(engine.create_args), engine.disable_host_mount
    )
    python, platform = identifier.split("-", 1)
    family, _, arch = platform.partition("_")
    images = theirs.manylinux_images if family == "manylinux" else theirs.musllinux_images
    key = f"pypy_{arch}" if python.startswith("pp") else arch
    if key in images:
        assert _image(ours, identifier) == images[key]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_same_options_as_cibuildwheel(case: Case, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(case.toml, encoding="utf-8")
    env = {**BASE, **case.env}
    theirs = _theirs(tmp_path, env)
    ours = load_config(tmp_path, environ=env)
    for identifier in IDENTIFIERS:
        assert ours.globals.selects(identifier) == theirs.globals.build_selector(identifier), (
            identifier
        )
        assert ours.globals.tests(identifier) == theirs.globals.test_selector(identifier)
        _compare(ours.options_for(identifier), theirs.build_options(identifier), identifier, env)
    archs = cibuildwheel_arch.Architecture.parse_config(" ".join(ours.globals.archs), "linux")
    assert archs == theirs.globals.architectures


ERROR_CASES = [
    ("override-without-select", "[[tool.cibuildwheel.overrides]]\ntest-command = 'x'\n"),
    (
        "bad-inherit",
        "[[tool.cibuildwheel.overrides]]\nselect='*'\ninherit.test-command='sideways'\n",
    ),
    ("overrides-not-array", "[tool.cibuildwheel]\noverrides = 'x'\n"),
    ("table-for-a-command", "[tool.cibuildwheel]\ntest-command = {a = 'b'}\n"),
    ("bad-frontend", "[tool.cibuildwheel]\nbuild-frontend = 'poetry'\n"),
    ("bad-engine", "[tool.cibuildwheel]\ncontainer-engine = 'lxc'\n"),
    ("bad-enable", "[tool.cibuildwheel]\nenable = ['everything']\n"),
    ("malformed-environment", "[tool.cibuildwheel]\nenvironment = 'A=1 B'\n"),
    ("unterminated-quote", "[tool.cibuildwheel]\nenvironment = 'A=\"1'\n"),
]


@pytest.mark.parametrize(("name", "toml"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_refused_where_cibuildwheel_refuses(name: str, toml: str, tmp_path: Path) -> None:
    from cibuildwheel.errors import ConfigurationError

    from manywheel.build import ConfigError

    (tmp_path / "pyproject.toml").write_text(toml, encoding="utf-8")
    with pytest.raises((ConfigurationError, ValueError)):
        theirs = _theirs(tmp_path, BASE)
        theirs.build_options("cp311-manylinux_x86_64")
        theirs.globals  # noqa: B018 - computing it is what raises
    with pytest.raises(ConfigError, match=r"pyproject\.toml|environment|enable"):
        load_config(tmp_path, environ=BASE).options_for("cp311-manylinux_x86_64")
