"""``--include``: a plugin the extension loads with dlopen (invisible to DT_NEEDED) is grafted
with its own dependencies, and the package finds it in its ``.libs`` directory. Without
``--include`` the repaired wheel cannot load it; with it, it can, while the directory the plugin
was built in is out of reach."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from manywheel.errors import InputError
from tests.repair.fixtures import Repair
from tests.repair.natives import Natives, build_plugin_wheel


@pytest.fixture(scope="module")
def plugin_wheel(natives: Natives) -> Path:
    return build_plugin_wheel(natives)


def _import(wheel: Path, site: Path) -> subprocess.CompletedProcess[str]:
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    return subprocess.run(
        [sys.executable, "-c", "import dlpkg; print(dlpkg.RESULT)"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site)},
        cwd="/",
        check=False,
    )


def test_plugin_loads_only_when_included(
    repair: Repair, plugin_wheel: Path, tmp_path: Path
) -> None:
    without = repair(plugin_wheel, tmp_path / "a").output
    assert "not in dlpkg.libs" in _import(without, tmp_path / "site-a").stderr
    result = repair(plugin_wheel, tmp_path / "b", include=("libplugin.so.1",))
    assert result.plan is not None
    grafts = {g.sonames: g for g in result.plan.grafts}
    assert set(grafts) == {("libplugin.so.1",), ("libbar.so.1",)}
    assert grafts[("libplugin.so.1",)].included and not grafts[("libbar.so.1",)].included
    done = _import(result.output, tmp_path / "site-b")
    assert done.stdout.strip() == "102", done.stderr


def test_include_by_path(
    repair: Repair, plugin_wheel: Path, natives: Natives, tmp_path: Path
) -> None:
    result = repair(plugin_wheel, include=(str(natives.libdir / "libplugin.so.1"),))
    assert result.plan is not None and any(g.included for g in result.plan.grafts)


def test_include_that_cannot_be_found_is_an_input_error(
    repair: Repair, plugin_wheel: Path, tmp_path: Path
) -> None:
    with pytest.raises(InputError, match=r"libnothere\.so\.7"):
        repair(plugin_wheel, include=("libnothere.so.7",))
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
