"""``load_config``: the precedence of files, variables and the command line; per-identifier
overrides of both tables; strict ``[tool.manywheel]`` and lenient ``[tool.cibuildwheel]``;
one-line errors naming the file and the key."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from manywheel.build import ConfigError, load_config
from manywheel.build.config_options import OPTIONS, Scope

ID = "cp311-manylinux_x86_64"


def _project(tmp_path: Path, toml: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(toml, encoding="utf-8")
    return tmp_path


LAYERED = """
[tool.cibuildwheel]
test-command = "cibuildwheel"

[tool.cibuildwheel.linux]
test-command = "cibuildwheel-linux"

[[tool.cibuildwheel.overrides]]
select = "cp311-*"
test-command = "cibuildwheel-override"

[tool.manywheel]
test-command = "manywheel"

[[tool.manywheel.overrides]]
select = "cp311-*"
test-command = "manywheel-override"
"""

#: Each source, and the sources that must be removed for it to be the one that counts.
PRECEDENCE = [
    ("cli", "from-cli"),
    ("MANYWHEEL_TEST_COMMAND", "from-manywheel-variable"),
    ("CIBW_TEST_COMMAND_LINUX", "from-cibw-linux"),
    ("CIBW_TEST_COMMAND", "from-cibw"),
]


@pytest.mark.parametrize("winner", range(len(PRECEDENCE)), ids=[p[0] for p in PRECEDENCE])
def test_variables_and_command_line_precedence(winner: int, tmp_path: Path) -> None:
    """CLI > MANYWHEEL_* > CIBW_*_LINUX > CIBW_* > any file."""
    project = _project(tmp_path, LAYERED)
    present = PRECEDENCE[winner:]
    environ = {name: value for name, value in present if name != "cli"}
    cli = dict.fromkeys(("test-command",), PRECEDENCE[0][1]) if winner == 0 else {}
    config = load_config(project, environ=environ, cli=cli)
    options = config.options_for(ID)
    assert options.test_command == PRECEDENCE[winner][1]
    expected_source = "--test-command" if winner == 0 else PRECEDENCE[winner][0]
    assert options.sources["test-command"] == (expected_source,)


FILE_LAYERS = [
    ("manywheel-override", "cp311-manylinux_x86_64"),
    ("manywheel", "cp312-manylinux_x86_64"),
]


def test_file_precedence(tmp_path: Path) -> None:
    """[tool.manywheel] overrides > [tool.manywheel] > cibuildwheel overrides > its linux
    section > [tool.cibuildwheel] > defaults."""
    project = _project(tmp_path, LAYERED)
    config = load_config(project, environ={})
    assert config.options_for(ID).test_command == "manywheel-override"
    assert config.options_for("cp312-manylinux_x86_64").test_command == "manywheel"
    without_manywheel = LAYERED.split("[tool.manywheel]", maxsplit=1)[0]
    project = _project(tmp_path, without_manywheel)
    config = load_config(project, environ={})
    assert config.options_for(ID).test_command == "cibuildwheel-override"
    assert config.options_for("cp312-manylinux_x86_64").test_command == "cibuildwheel-linux"
    only_cibuildwheel = without_manywheel.split("[tool.cibuildwheel.linux]", maxsplit=1)[0]
    project = _project(tmp_path, only_cibuildwheel)
    assert load_config(project, environ={}).options_for(ID).test_command == "cibuildwheel"
    project = _project(tmp_path, "")
    assert load_config(project, environ={}).options_for(ID).test_command == ""


def test_manywheel_table_is_read_key_by_key_over_cibuildwheel(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        """
[tool.cibuildwheel]
before-all = "yum install -y libfoo-devel"
test-requires = ["pytest"]
test-command = "pytest {project}/tests"

[tool.manywheel]
before-all = "apt-get install -y libfoo-dev"
""",
    )
    options = load_config(project, environ={}).options_for(ID)
    assert options.before_all == "apt-get install -y libfoo-dev"
    assert options.test_requires == ("pytest",)
    assert options.test_command == "pytest {project}/tests"


def test_manywheel_override_inherits_from_cibuildwheel(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        """
[tool.cibuildwheel]
environment = { CFLAGS = "-O2" }
test-requires = "pytest"

[[tool.manywheel.overrides]]
select = ["cp311-*", "cp312-*"]
inherit.environment = "append"
environment = { LDFLAGS = "-s" }
inherit.test-requires = "prepend"
test-requires = ["hypothesis"]
""",
    )
    config = load_config(project, environ={})
    options = config.options_for(ID)
    assert options.build_environment({}, {}) == {"CFLAGS": "-O2", "LDFLAGS": "-s"}
    assert options.test_requires == ("hypothesis", "pytest")
    other = config.options_for("cp313-manylinux_x86_64")
    assert other.build_environment({}, {}) == {"CFLAGS": "-O2"}


def test_environment_pass_and_source_date_epoch(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        """
[tool.manywheel]
environment-pass = ["TOKEN"]
environment = 'CFLAGS="$CFLAGS -g" WHEN=$SOURCE_DATE_EPOCH'
""",
    )
    options = load_config(project, environ={}).options_for(ID)
    host = {"TOKEN": "t", "SOURCE_DATE_EPOCH": "1700000000", "UNRELATED": "x"}
    built = options.build_environment({"CFLAGS": "-O1"}, host)
    assert built == {"CFLAGS": "-O1 -g", "TOKEN": "t", "SOURCE_DATE_EPOCH": "1700000000",
                     "WHEN": "1700000000"}  # fmt: skip


def test_images_follow_the_identifier(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        """
[tool.cibuildwheel]
manylinux-x86_64-image = "manylinux2014"
manylinux-aarch64-image = "manylinux_2_28"
manylinux-pypy_x86_64-image = "manylinux_2_24"
musllinux-x86_64-image = "musllinux_1_2"
""",
    )
    config = load_config(project, environ={"MANYWHEEL_MANYLINUX_AARCH64_IMAGE": "manylinux_2_34"})
    assert config.options_for(ID).image == "manylinux2014"
    assert config.options_for("cp311-manylinux_aarch64").image == "manylinux_2_34"
    assert config.options_for("pp311-manylinux_x86_64").image == "manylinux_2_24"
    assert config.options_for("cp311-musllinux_x86_64").image == "musllinux_1_2"
    assert config.options_for("cp311-manylinux_i686").image is None


def test_selection(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        """
[project]
requires-python = ">=3.10"

[tool.manywheel]
build = ["cp3{10..13}-*", "pp*"]
skip = "*-musllinux_i686 cp311-manylinux_aarch64"
test-skip = "*-*linux_aarch64"
enable = "pypy"
""",
    )
    globals_ = load_config(project, environ={}).globals
    selected = {
        i: globals_.selects(i)
        for i in (
            "cp39-manylinux_x86_64",
            "cp310-manylinux_x86_64",
            "cp313-musllinux_i686",
            "cp311-manylinux_aarch64",
            "cp312-manylinux_aarch64",
            "cp314-manylinux_x86_64",
            "pp311-manylinux_x86_64",
            "pp310-manylinux_x86_64",
        )
    }
    assert selected == {
        "cp39-manylinux_x86_64": False,  # requires-python
        "cp310-manylinux_x86_64": True,
        "cp313-musllinux_i686": False,  # skip
        "cp311-manylinux_aarch64": False,  # skip
        "cp312-manylinux_aarch64": True,
        "cp314-manylinux_x86_64": False,  # not in build
        "pp311-manylinux_x86_64": True,  # enable pypy
        "pp310-manylinux_x86_64": False,  # end of life: pypy-eol
    }
    assert not globals_.tests("cp312-manylinux_aarch64")
    assert globals_.tests("cp310-manylinux_x86_64")


def test_requires_python_from_setup_files(tmp_path: Path) -> None:
    (tmp_path / "setup.cfg").write_text("[options]\npython_requires = >=3.12\n")
    assert str(load_config(tmp_path, environ={}).globals.requires_python) == ">=3.12"
    (tmp_path / "setup.cfg").unlink()
    (tmp_path / "setup.py").write_text(
        "from setuptools import setup\nif __name__ == '__main__':\n"
        "    setup(name='x', python_requires='>=3.13')\n"
    )
    assert str(load_config(tmp_path, environ={}).globals.requires_python) == ">=3.13"
    config = load_config(tmp_path, environ={"CIBW_PROJECT_REQUIRES_PYTHON": "~=3.11"})
    assert str(config.globals.requires_python) == "~=3.11"


def test_config_file_with_package_placeholder(tmp_path: Path) -> None:
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "wheels.toml").write_text('[tool.manywheel]\ntest-command = "x"\n')
    config = load_config(tmp_path, environ={}, config_file="{package}/ci/wheels.toml")
    assert config.options_for(ID).test_command == "x"
    with pytest.raises(ConfigError, match=r"missing\.toml: no such file"):
        load_config(tmp_path, environ={}, config_file=tmp_path / "missing.toml")


def test_test_groups_resolve_includes(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        """
[dependency-groups]
Test = ["pytest", {include-group = "typing"}]
typing = ["mypy"]
loop-a = [{include-group = "loop-b"}]
loop-b = [{include-group = "loop_a"}]

[tool.manywheel]
test-groups = "test"
""",
    )
    options = load_config(project, environ={}).options_for(ID)
    assert options.test_requires == ("pytest", "mypy")
    with pytest.raises(ConfigError, match="dependency group cycle loop-a -> loop-b -> loop-a"):
        load_config(project, environ={"MANYWHEEL_TEST_GROUPS": "loop-a"})


# --- unknown keys, bad types: one line naming the file and the key ----------------------------


def test_unknown_key_in_manywheel_table_is_an_error(tmp_path: Path) -> None:
    project = _project(tmp_path, '[tool.manywheel]\ntest-comand = "pytest"\n')
    with pytest.raises(ConfigError) as info:
        load_config(project, environ={})
    assert str(info.value) == (
        f"{project / 'pyproject.toml'}: [tool.manywheel] test-comand: unknown option "
        "(did you mean 'test-command'?)"
    )


def test_unknown_key_in_cibuildwheel_table_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    project = _project(
        tmp_path,
        """
[tool.cibuildwheel]
test-comand = "pytest"
audit-command = "abi3audit {wheel}"
test-command = "real"

[tool.cibuildwheel.macos]
anything = "macOS section is cibuildwheel's business"
""",
    )
    with caplog.at_level(logging.WARNING, logger="manywheel"):
        config = load_config(project, environ={})
    assert config.options_for(ID).test_command == "real"
    assert config.warnings == (
        f"{project / 'pyproject.toml'}: [tool.cibuildwheel] test-comand: unknown option "
        "(did you mean 'test-command'?); ignored",
    )
    assert [r.getMessage() for r in caplog.records] == [config.warnings[0]]


def test_global_option_in_an_override(tmp_path: Path) -> None:
    toml = '[[tool.{}.overrides]]\nselect = "cp311-*"\nskip = "*"\n'
    project = _project(tmp_path, toml.format("manywheel"))
    with pytest.raises(ConfigError, match=r"#1 skip: cannot be overridden per identifier"):
        load_config(project, environ={})
    project = _project(tmp_path, toml.format("cibuildwheel"))
    config = load_config(project, environ={})
    assert config.globals.selects(ID)
    assert "cannot be overridden per identifier; ignored" in config.warnings[0]


BAD_TYPES = [
    ("test-command = 1.5", "test-command: expected a string, an array or a table, found a number"),
    ('test-requires = [["a"]]', "test-requires: array item: expected a string, found an array"),
    ("before-all = { a = 'b' }", "before-all: expected a string, found a table"),
    ("manylinux-x86_64-image = ['a']", "manylinux-x86_64-image: expected a string, found an array"),
    ("environment = { A = ['x'] }", "environment: key 'A': expected a string, found an array"),
    ("build-verbosity = 'loud'", "build-verbosity: expected an integer, found 'loud'"),
    ("environment = 'A=$(echo a | cat)'", "environment: unsupported shell syntax '|' in a "),
    ("test-sources = 'a \"b'", "test-sources: No closing quotation in 'a \"b'"),
]


@pytest.mark.parametrize(("toml", "message"), BAD_TYPES, ids=[b[0].split()[0] for b in BAD_TYPES])
def test_bad_values_name_file_and_key(toml: str, message: str, tmp_path: Path) -> None:
    project = _project(tmp_path, f"[tool.manywheel]\n{toml}\n")
    with pytest.raises(ConfigError) as info:
        load_config(project, environ={})
    text = str(info.value)
    assert text.startswith(f"{project / 'pyproject.toml'}: [tool.manywheel] {message}")
    assert "\n" not in text


def test_bad_value_in_an_override_is_found_when_the_file_is_read(tmp_path: Path) -> None:
    """Not later, when the identifier it applies to comes up."""
    project = _project(
        tmp_path,
        '[[tool.manywheel.overrides]]\nselect = "cp399-*"\nenvironment = "A=\\"open"\n',
    )
    with pytest.raises(ConfigError, match=r"overrides\]\] #1 environment: unterminated double"):
        load_config(project, environ={})


def test_bad_variable_is_found_when_the_configuration_is_read(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^MANYWHEEL_CONFIG_SETTINGS: malformed item 'c'"):
        load_config(tmp_path, environ={"MANYWHEEL_CONFIG_SETTINGS": "c"})


def test_inherit_rule_on_an_option_that_cannot_merge(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        '[[tool.manywheel.overrides]]\nselect = "*"\ninherit.build-frontend = "append"\n',
    )
    with pytest.raises(ConfigError, match=r"#1 inherit.build-frontend: build-frontend cannot be"):
        load_config(project, environ={})


def test_bad_variable_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^CIBW_ENVIRONMENT_LINUX: expected NAME=value"):
        load_config(tmp_path, environ={"CIBW_ENVIRONMENT_LINUX": "oops"})
    with pytest.raises(ConfigError, match=r"^MANYWHEEL_ENABLE: unknown enable group 'x'"):
        load_config(tmp_path, environ={"MANYWHEEL_ENABLE": "x"})


def test_invalid_toml(tmp_path: Path) -> None:
    project = _project(tmp_path, "[tool.manywheel\n")
    with pytest.raises(ConfigError, match=r"pyproject\.toml: not valid TOML: "):
        load_config(project, environ={})


def test_brace_bomb_is_refused(tmp_path: Path) -> None:
    bomb = "{a,b}" * 20
    with pytest.raises(ConfigError, match="expands to more than 10000 patterns"):
        load_config(tmp_path, environ={"CIBW_SKIP": bomb})


def test_every_option_has_a_field() -> None:
    """Each per-identifier option is resolved into BuildOptions (its source is recorded)."""
    options = load_config(Path("/nonexistent"), environ={}).options_for(ID)
    per_build = {n for n, o in OPTIONS.items() if o.scope is Scope.BUILD}
    images = {n for n in per_build if n.endswith("-image")}
    assert per_build - images <= options.sources.keys()
    assert "manylinux-x86_64-image" in options.sources


def test_manywheel_options_and_identifier_objects(tmp_path: Path) -> None:
    """manywheel's own keys (the flags of ``manywheel build``) and identifiers given as objects
    whose ``str()`` is the identifier (the runner's ``BuildIdentifier``)."""

    class Identifier:
        def __init__(self, text: str) -> None:
            self.text = text

        def __str__(self) -> str:
            return self.text

    project = _project(
        tmp_path,
        """
[tool.cibuildwheel]
manylinux = "not read from cibuildwheel's table"

[tool.manywheel]
env = "debian:bullseye"
manylinux = "manylinux2014"
musllinux = "musllinux_1_2"

[[tool.manywheel.overrides]]
select = "cp313-*"
manylinux = "manylinux_2_28"
""",
    )
    config = load_config(project, environ={"MANYWHEEL_MUSLLINUX": "musllinux_1_1"})
    assert config.globals.env == "debian:bullseye"
    assert config.options_for(Identifier("cp311-manylinux_x86_64")).target == "manylinux2014"
    assert config.options_for(Identifier("cp313-manylinux_x86_64")).target == "manylinux_2_28"
    assert config.options_for("cp313-musllinux_x86_64").target == "musllinux_1_1"
    assert config.globals.selects(Identifier("cp313-musllinux_x86_64"))
    assert any("[tool.cibuildwheel] manylinux: unknown option" in w for w in config.warnings)
    environ = {"CIBW_ENV": "ignored", "MANYWHEEL_ENV": "zig"}
    assert load_config(project, environ=environ, cli={"env": "container:img"}).globals.env == (
        "container:img"
    )
    assert load_config(project, environ=environ).globals.env == "zig"
