"""The pipeline's pieces that need no build: reading a repair-wheel-command, the policy each
identifier targets, one selection for flags and configuration, the upload stage's all or
nothing, the summary's test and upload columns."""

from __future__ import annotations

from pathlib import Path

import pytest

from manywheel.build import (
    BuildIdentifier,
    BuildOutcome,
    BuildRun,
    BuildSelector,
    ConfigError,
    EnableGroup,
    ProjectConfig,
    ProjectSource,
    RepairPart,
    Repository,
    Stage,
    Status,
    TestResult,
    TestStatus,
    UploadSettings,
    fill_placeholders,
    image_policy,
    load_config,
    publish,
    select_configured,
    split_repair_command,
    target_policies,
)
from manywheel.build.check import CheckResult
from manywheel.build.upload import Outcome, UploadReport, WheelUpload
from manywheel.cli.build_output import summary_table
from manywheel.policy import load_policies
from tests.build.conftest import EXAMPLES

DEFAULT = "manywheel repair -w {dest_dir} {wheel}"


@pytest.mark.parametrize(
    ("command", "parts"),
    [
        ("", ()),
        (DEFAULT, (RepairPart(DEFAULT, ("-w", "{dest_dir}", "{wheel}")),)),
        (
            "auditwheel repair --exclude 'libcuda.so.*' -w {dest_dir} {wheel}",
            (
                RepairPart(
                    "auditwheel repair --exclude 'libcuda.so.*' -w {dest_dir} {wheel}",
                    ("--exclude", "libcuda.so.*", "-w", "{dest_dir}", "{wheel}"),
                ),
            ),
        ),
        (  # cibuildwheel joins a TOML array with " && "
            "auditwheel repair -w {dest_dir} {wheel} && pipx run abi3audit --strict {wheel}",
            (
                RepairPart(
                    "auditwheel repair -w {dest_dir} {wheel}", ("-w", "{dest_dir}", "{wheel}")
                ),
                RepairPart("pipx run abi3audit --strict {wheel}"),
            ),
        ),
        (
            "python -m auditwheel repair -w {dest_dir} {wheel}",
            (
                RepairPart(
                    "python -m auditwheel repair -w {dest_dir} {wheel}",
                    ("-w", "{dest_dir}", "{wheel}"),
                ),
            ),
        ),
        ("cp {wheel} {dest_dir}", (RepairPart("cp {wheel} {dest_dir}"),)),
        # another operator: run whole, as one command
        (
            "auditwheel repair -w {dest_dir} {wheel} | tee log",
            (RepairPart("auditwheel repair -w {dest_dir} {wheel} | tee log"),),
        ),
        (
            "auditwheel repair -w $DEST {wheel} && echo 'a && b'",
            (RepairPart("auditwheel repair -w $DEST {wheel}"), RepairPart("echo 'a && b'")),
        ),
    ],
    ids=["none", "default", "flags", "array", "python-m", "other", "pipe", "quoted-and"],
)
def test_a_repair_command_is_read_into_its_commands(
    command: str, parts: tuple[RepairPart, ...]
) -> None:
    assert split_repair_command(command) == parts


def test_placeholders_are_filled_and_other_braces_kept() -> None:
    command = "cp {wheel} {dest_dir} && echo ${HOME} {unknown}"
    assert fill_placeholders(command, wheel="/w/a.whl", dest_dir="/d") == (
        "cp /w/a.whl /d && echo ${HOME} {unknown}"
    )


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("manylinux2014", "manylinux2014"),
        ("manylinux_2_28", "manylinux_2_28"),
        ("quay.io/pypa/manylinux_2_28_x86_64:2025.01.05-1", "manylinux_2_28"),
        ("quay.io/pypa/manylinux2014_aarch64", "manylinux2014"),
        ("ghcr.io/me/musllinux_1_2_x86_64@sha256:00", "musllinux_1_2"),
        ("registry.example/builder:latest", None),
        ("", None),
    ],
)
def test_the_policy_an_image_option_names(image: str, policy: str | None) -> None:
    assert image_policy(image) == policy


def _project(tmp_path: Path, toml: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "1"\nrequires-python = ">=3.8"\n' + toml
    )
    return tmp_path


def _ids(*texts: str) -> list[BuildIdentifier]:
    return [BuildIdentifier.parse(t) for t in texts]


def test_each_identifier_targets_its_configured_policy(tmp_path: Path) -> None:
    """``manylinux`` beats the image option, an override beats both, an image names a
    policy; without either, manylinux2014 and musllinux_1_2."""
    project = _project(
        tmp_path,
        """
[tool.cibuildwheel]
manylinux-aarch64-image = "manylinux_2_28"
musllinux-x86_64-image = "quay.io/pypa/musllinux_1_1_x86_64:2024.10.26-1"

[[tool.manywheel.overrides]]
select = "cp313-*"
manylinux = "manylinux_2_34"
""",
    )
    config = load_config(project, environ={})
    identifiers = _ids(
        "cp311-manylinux_x86_64",
        "cp311-manylinux_aarch64",
        "cp313-manylinux_x86_64",
        "cp311-musllinux_x86_64",
        "cp311-musllinux_aarch64",
    )
    targets = target_policies(config, load_policies(), identifiers)
    assert [targets.platform_tag(i) for i in identifiers] == [
        "manylinux_2_17_x86_64",
        "manylinux_2_28_aarch64",
        "manylinux_2_34_x86_64",
        "musllinux_1_1_x86_64",
        "musllinux_1_2_aarch64",
    ]
    flagged = load_config(project, environ={}, cli={"manylinux": "manylinux_2_28"})
    assert target_policies(flagged, load_policies(), identifiers[:1]).manylinux == "manylinux_2_28"


def test_a_policy_of_the_wrong_family_names_where_it_was_set(tmp_path: Path) -> None:
    project = _project(tmp_path, '[tool.manywheel]\nmanylinux = "musllinux_1_2"\n')
    config = load_config(project, environ={})
    with pytest.raises(ConfigError, match=r"\[tool\.manywheel\] manylinux: 'musllinux_1_2' is not"):
        target_policies(config, load_policies(), _ids("cp311-manylinux_x86_64"))


def test_flags_and_configuration_select_through_the_same_rules(tmp_path: Path) -> None:
    """The same build/skip/archs/enable as flags or in pyproject.toml: the same selection."""
    values = {
        "build": "cp3{10..14}* pp311-*",
        "skip": "*-musllinux_* cp312-*",
        "archs": "x86_64 aarch64",
        "enable": "pypy",
    }
    toml = "[tool.cibuildwheel]\n" + "".join(f'{k} = "{v}"\n' for k, v in values.items())
    from_file = load_config(_project(tmp_path / "a", toml), environ={})
    from_flags = load_config(_project(tmp_path / "b", ""), environ={}, cli=values)

    def selected(config: ProjectConfig) -> list[str]:
        selection = select_configured(config, host_arch="x86_64", unavailable=lambda i: None)
        return [str(i) for i in selection.build]

    assert selected(from_file) == selected(from_flags)
    assert selected(from_file) == [
        "cp310-manylinux_x86_64",
        "cp310-manylinux_aarch64",
        "cp311-manylinux_x86_64",
        "cp311-manylinux_aarch64",
        "cp313-manylinux_x86_64",
        "cp313-manylinux_aarch64",
        "cp314-manylinux_x86_64",
        "cp314-manylinux_aarch64",
        "cp314t-manylinux_x86_64",
        "cp314t-manylinux_aarch64",
        "pp311-manylinux_x86_64",
        "pp311-manylinux_aarch64",
    ]


def test_free_threaded_builds_from_3_14_need_no_group() -> None:
    """cibuildwheel >= 3.1: 3.14t and later are built by default; 3.13t (experimental in
    CPython 3.13) needs ``cpython-freethreading``, as it did in cibuildwheel 3.0."""
    default = BuildSelector()
    assert default("cp314t-manylinux_x86_64")
    assert not default("cp313t-manylinux_x86_64")
    assert BuildSelector(enable=EnableGroup.parse(["cpython-freethreading"]))(
        "cp313t-manylinux_x86_64"
    )
    assert not default("gp312_250-manylinux_x86_64")
    assert BuildSelector(enable=EnableGroup.parse(["graalpy"]))("gp312_250-manylinux_x86_64")


def _outcomes(tmp_path: Path) -> tuple[BuildOutcome, ...]:
    ok = BuildIdentifier.parse("cp311-manylinux_x86_64")
    bad = BuildIdentifier.parse("cp312-manylinux_x86_64")
    wheel = tmp_path / "pkg-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    wheel.write_bytes(b"not looked at")
    test = TestResult(wheel, TestStatus.PASSED, "Debian bookworm amd64, CPython 3.11", "ok\n")
    failed = TestResult(wheel, TestStatus.FAILED, "Debian bookworm amd64", "boom\n", 1)
    return (
        BuildOutcome(
            ok, Status.BUILT, 3.0, wheel=wheel, size=13, test=test, check=CheckResult(str(wheel))
        ),
        BuildOutcome(
            bad,
            Status.FAILED,
            4.0,
            stage=Stage.TEST,
            error="the test failed on Debian bookworm amd64 (exit status 1)",
            log_tail=("boom",),
            test=failed,
        ),
    )


def test_one_failure_holds_back_every_upload_without_asking_the_index(tmp_path: Path) -> None:
    """All or nothing: the index (a port nothing listens on) is never contacted."""
    settings = UploadSettings(Repository("http://127.0.0.1:9/legacy/"))
    report, error = publish(_outcomes(tmp_path), settings)
    assert error is None
    assert [(w.outcome, w.detail) for w in report.wheels] == [
        (Outcome.HELD_BACK, "1 identifier did not pass (cp312-manylinux_x86_64)")
    ]


def _held_back_run(tmp_path: Path) -> BuildRun:
    """A run of one tested wheel held back from the index and one failed test."""
    outcomes = _outcomes(tmp_path)
    report = UploadReport(
        "http://127.0.0.1:9/legacy/",
        wheels=(WheelUpload(str(outcomes[0].wheel), Outcome.HELD_BACK, "1 identifier failed"),),
    )
    source = ProjectSource(EXAMPLES / "demo", EXAMPLES / "demo", None, "setuptools")
    return BuildRun(outcomes, "zig", source, tmp_path / "wh", tmp_path / "logs", upload=report)


def test_the_summary_has_test_and_upload_columns_and_the_failures_last_lines(
    tmp_path: Path,
) -> None:
    run = _held_back_run(tmp_path)
    lines = summary_table(run).splitlines()
    assert lines[0].split() == [
        "identifier", "wheel", "tag", "size", "seconds", "test", "upload", "status"
    ]  # fmt: skip
    assert lines[1].endswith("3.0      passed  held back  built")
    assert lines[2].split()[-4:] == ["failed", "-", "failed", "(test)"]
    assert lines[4:6] == [
        "cp312-manylinux_x86_64 in test: the test failed on Debian bookworm amd64 (exit status 1)",
        "    | boom",
    ]


def test_every_key_of_the_document_is_documented(tmp_path: Path) -> None:
    """docs/build-json.md names every key a run's document has (one with a test, a check and
    an upload, and one with a failure)."""
    from manywheel.build import build_document

    run = _held_back_run(tmp_path)
    document = build_document(run, tool_version="0", exit_code=1)
    keys = set(document) | set(document["summary"]) | set(document["upload"])
    for build in document["builds"]:
        keys |= set(build)
        for part in ("test", "check", "upload"):
            keys |= set(build[part] or {})
    text = (EXAMPLES.parent / "docs" / "build-json.md").read_text(encoding="utf-8")
    assert sorted(k for k in keys if f"`{k}`" not in text) == []
