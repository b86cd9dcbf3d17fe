"""``--target``: whether a wheel installs on a target, checked against an independent
implementation — packaging's tag lists, what pip installs by — over every wheel filename of the
local indexes and a set of filenames for other platforms; and the reasons given when nothing
fits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.tags import Tag, compatible_tags, cpython_tags, mac_platforms
from packaging.utils import parse_wheel_filename

from manywheel.survey import (
    DistFile,
    InvalidTargetError,
    Target,
    TargetStatus,
    check_target,
)
from tests.survey.conftest import FIND_LINKS, PYPI, PYPI_MORE, require_local_index

_SYNTHETIC = [
    f"demo-1.0-{tags}.whl"
    for tags in (
        "cp314-cp314t-manylinux_2_28_aarch64",
        "cp314-cp314-manylinux_2_28_aarch64",
        "cp313-cp313t-manylinux_2_17_aarch64.manylinux2014_aarch64",
        "cp39-abi3-manylinux_2_17_aarch64.manylinux2014_aarch64",
        "cp315-abi3t-manylinux_2_34_aarch64",
        "cp312-abi3t-manylinux_2_28_aarch64",
        "cp310-abi3-manylinux_2_34_x86_64",
        "cp313-cp313-musllinux_1_2_x86_64",
        "cp313-cp313-musllinux_1_1_aarch64",
        "pp310-pypy310_pp73-manylinux_2_17_x86_64",
        "pp311-pypy311_pp73-manylinux_2_28_aarch64",
        "py3-none-manylinux_2_17_aarch64",
        "py2.py3-none-any",
        "cp313-cp313-macosx_11_0_arm64",
        "cp313-cp313-macosx_10_13_universal2",
        "cp313-cp313-macosx_14_0_x86_64",
        "cp312-cp312-win_amd64",
        "cp313-cp313-linux_aarch64",
        "cp37-cp37m-manylinux1_x86_64",
    )
]

_TARGETS = [
    "cp314t-manylinux_aarch64",
    "cp314t-manylinux_2_17_aarch64",
    "cp314-manylinux_2_28_aarch64",
    "cp313-manylinux_2_17_x86_64",
    "cp311-manylinux_2_28_x86_64",
    "cp315t-manylinux_2_34_aarch64",
    "cp313-musllinux_1_2_x86_64",
    "cp313-musllinux_1_1_aarch64",
    "pp310-manylinux_2_28_x86_64",
    "cp313-macosx_12_0_arm64",
    "cp313-macosx_14_0_x86_64",
    "cp312-win_amd64",
    "cp37-manylinux2010_x86_64",
]


def _platforms(target: Target) -> list[str]:
    """Platform tags for ``target``, listed as pip lists them."""
    if target.platform_kind == "macosx":
        version = target.platform_version or (15, 0)
        return list(mac_platforms(version, target.arch))
    if target.platform_kind in ("manylinux", "musllinux"):
        newest = target.platform_version or (
            (2, 99) if target.platform_kind == "manylinux" else (1, 99)
        )
        major, top = newest
        plats = [f"{target.platform_kind}_{major}_{m}_{target.arch}" for m in range(top, -1, -1)]
        if target.platform_kind == "manylinux":
            aliases = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}
            plats += [f"{n}_{target.arch}" for v, n in aliases.items() if v <= newest]
        return plats
    return [target.platform_kind]


def _supported(target: Target) -> set[Tag]:
    """packaging's answer: the tags pip accepts on the target (its own abi3/abi3t rules)."""
    plats = _platforms(target)
    version = target.version
    if target.implementation == "cpython":
        abi = f"cp{version[0]}{version[1]}{'t' if target.free_threaded else ''}"
        abis = [abi, f"{abi}m"] if version < (3, 8) else [abi]
        tags = set(cpython_tags(version, abis, plats))
    else:
        interpreter = f"pp{version[0]}{version[1]}"
        abi = f"pypy{version[0]}{version[1]}_pp73"
        tags = {Tag(interpreter, abi, p) for p in plats}
        tags |= set(compatible_tags(version, interpreter, plats))
        return tags
    return tags | set(compatible_tags(version, f"cp{version[0]}{version[1]}", plats))


def _filenames() -> Iterator[str]:
    require_local_index()
    for root in (PYPI / "files", PYPI_MORE / "files", FIND_LINKS):
        yield from (p.name for p in Path(root).iterdir() if p.name.endswith(".whl"))
    yield from _SYNTHETIC


@pytest.mark.parametrize("text", _TARGETS)
def test_agrees_with_packaging_on_every_wheel(text: str) -> None:
    target = Target.parse(text)
    supported = _supported(target)
    checked = 0
    for name in _filenames():
        _, _, _, tags = parse_wheel_filename(name)
        expected = bool(set(tags) & supported)
        result = check_target(target, (DistFile(name, "u"),))
        assert (result.status is TargetStatus.WHEEL) == expected, (text, name)
        checked += 1
    assert checked > 500


def test_free_threaded_needs_a_free_threaded_wheel() -> None:
    target = Target.parse("cp314t-manylinux_aarch64")
    files = (DistFile("demo-1.0-cp39-abi3-manylinux_2_17_aarch64.whl", "u"),
             DistFile("demo-1.0-cp314-cp314-manylinux_2_28_aarch64.whl", "u"),
             DistFile("demo-1.0.tar.gz", "u"))  # fmt: skip
    result = check_target(target, files)
    assert result.status is TargetStatus.SDIST
    assert result.reason == (
        "wheels for manylinux aarch64 are for abi3 (≥ cp39), cp314, not cp314t"
    )


@pytest.mark.parametrize(
    ("files", "target", "status", "reason"),
    [
        (("demo-1.0.tar.gz",), "cp313-manylinux_x86_64", "sdist", "no wheels (source only)"),
        (("demo-1.0-cp313-cp313-manylinux_2_17_x86_64.whl",), "cp313-manylinux_aarch64",
         "missing", "no wheel for manylinux aarch64"),
        (("demo-1.0-cp313-cp313-manylinux_2_34_x86_64.whl",), "cp313-manylinux_2_28_x86_64",
         "missing", "the cp313 wheels need manylinux 2.34; the target has 2.28"),
        (("demo-1.0-cp313-cp313-manylinux_2_17_x86_64.whl",
          "demo-1.0-py3-none-any.whl"), "cp313-manylinux_aarch64", "wheel", ""),
    ],
)  # fmt: skip
def test_reasons(files: tuple[str, ...], target: str, status: str, reason: str) -> None:
    result = check_target(Target.parse(target), tuple(DistFile(f, "u") for f in files))
    assert (result.status.value, result.reason) == (status, reason)


def test_requires_python_from_the_index_counts() -> None:
    wheel = DistFile("demo-1.0-cp39-abi3-manylinux_2_17_x86_64.whl", "u", requires_python="<3.13")
    assert check_target(Target.parse("cp312-manylinux_x86_64"), (wheel,)).wheel == wheel.filename
    result = check_target(Target.parse("cp313-manylinux_x86_64"), (wheel,))
    assert result.status is TargetStatus.MISSING
    assert "Requires-Python" in result.reason


def test_a_platform_wheel_is_preferred_to_a_pure_one() -> None:
    files = (DistFile("demo-1.0-py3-none-any.whl", "u"),
             DistFile("demo-1.0-cp313-cp313-manylinux_2_17_x86_64.whl", "u"))  # fmt: skip
    result = check_target(Target.parse("cp313-manylinux_x86_64"), files)
    assert result.wheel == "demo-1.0-cp313-cp313-manylinux_2_17_x86_64.whl"


@pytest.mark.parametrize(
    "text", ["cp314t", "manylinux_x86_64", "py3-manylinux_x86_64", "pp310t-manylinux_x86_64", ""]
)
def test_bad_targets_are_usage_errors(text: str) -> None:
    with pytest.raises(InvalidTargetError, match="--target"):
        Target.parse(text)
