"""Filenames and retagging, by auditwheel's rules (add_platforms / get_replace_platforms)."""

from __future__ import annotations

import pytest

from manywheel.errors import InvalidWheelError
from manywheel.wheel import WheelFilename, replaced_platforms, retag
from manywheel.wheel.metadata import parse_wheel_info


def test_filename_keeps_order_and_build_tag() -> None:
    name = WheelFilename.parse(
        "foo_bar-1.0-7abc-cp39.cp310-cp39-manylinux_2_17_x86_64.linux_x86_64.whl"
    )
    assert (name.name, name.version, name.build) == ("foo_bar", "1.0", "7abc")
    assert name.python_tags == ("cp39", "cp310")
    assert name.platform_tags == ("manylinux_2_17_x86_64", "linux_x86_64")
    assert len(name.tags) == 4
    renamed = name.with_platforms(("manylinux2014_x86_64",))
    assert renamed.raw == "foo_bar-1.0-7abc-cp39.cp310-cp39-manylinux2014_x86_64.whl"


@pytest.mark.parametrize(
    "bad",
    ["foo.whl", "foo-1.0-py3-none.whl", "foo-1.0-py3-none-any.zip", "foo-x!y-py3-none-any.whl"],
)
def test_bad_filenames(bad: str) -> None:
    with pytest.raises(InvalidWheelError, match="not a valid wheel filename"):
        WheelFilename.parse(bad)


@pytest.mark.parametrize(
    ("platform", "replaced"),
    [
        ("manylinux_2_17_x86_64", ("linux_x86_64",)),
        ("manylinux2014_aarch64", ("linux_aarch64",)),
        ("manylinux1_i686", ("linux_i686",)),
        ("musllinux_1_2_armv7l", ("linux_armv7l",)),
        ("linux_x86_64", ()),
    ],
    ids=str,
)
def test_replaced_platforms(platform: str, replaced: tuple[str, ...]) -> None:
    assert replaced_platforms(platform) == replaced


def test_retag_linux_wheel_to_manylinux() -> None:
    result = retag(
        ["linux_x86_64"],
        ["cp39-cp39-linux_x86_64"],
        ["manylinux_2_17_x86_64", "manylinux2014_x86_64"],
    )
    # auditwheel 6 sorts the filename's platform tags; tests/repair compares whole filenames.
    assert result.platform_tags == ("manylinux2014_x86_64", "manylinux_2_17_x86_64")
    assert result.wheel_tags == (
        "cp39-cp39-manylinux_2_17_x86_64",
        "cp39-cp39-manylinux2014_x86_64",
    )
    assert not result.platlib


def test_retag_keeps_other_platforms_sorted_and_deduplicates() -> None:
    result = retag(
        ["manylinux_2_28_x86_64", "linux_x86_64", "manylinux_2_17_x86_64"],
        [
            "cp39-cp39-linux_x86_64",
            "cp39-cp39-manylinux_2_28_x86_64",
            "cp39-cp39-manylinux_2_17_x86_64",
        ],
        ["manylinux_2_17_x86_64", "manylinux2014_x86_64"],
    )
    assert result.platform_tags == (
        "manylinux2014_x86_64",
        "manylinux_2_17_x86_64",
        "manylinux_2_28_x86_64",
    )
    assert result.wheel_tags == (
        "cp39-cp39-manylinux_2_28_x86_64",
        "cp39-cp39-manylinux_2_17_x86_64",
        "cp39-cp39-manylinux2014_x86_64",
    )


def test_retag_any_wheel_becomes_platlib() -> None:
    result = retag(
        ["any"], ["py2-none-any", "py3-none-any"], ["manylinux_2_5_x86_64", "manylinux1_x86_64"]
    )
    assert result.platform_tags == ("manylinux1_x86_64", "manylinux_2_5_x86_64")
    assert result.wheel_tags == (
        "py2-none-manylinux_2_5_x86_64",
        "py2-none-manylinux1_x86_64",
        "py3-none-manylinux_2_5_x86_64",
        "py3-none-manylinux1_x86_64",
    )
    assert result.platlib


def test_retag_needs_a_platform() -> None:
    with pytest.raises(ValueError, match="at least one"):
        retag(["linux_x86_64"], ["py3-none-linux_x86_64"], [])


def test_wheel_text_keeps_other_lines() -> None:
    text = "Wheel-Version: 1.0\nGenerator: x\nRoot-Is-Purelib: true\nTag: py3-none-any\nBuild: 1\n"
    info = parse_wheel_info(text)
    assert info.build == "1"
    new = info.with_tags(("py3-none-a", "py3-none-b"), purelib=False)
    assert new == (
        "Wheel-Version: 1.0\nGenerator: x\nRoot-Is-Purelib: false\n"
        "Tag: py3-none-a\nTag: py3-none-b\nBuild: 1\n"
    )
    assert parse_wheel_info(new).tags == ("py3-none-a", "py3-none-b")
