"""Each subpackage's public names: every name in ``__all__`` resolves, and the names it loads on
first use (``_LAZY``: the ELF editor, the wheel writer, the Python-ABI verdict, the text
summaries, the report's other documents) are really not loaded by importing it — a small
wheel's ``show --json`` never pays for them."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

PACKAGES = ("elf", "wheel", "linker", "policy", "audit", "repair", "report")


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_resolves(package: str) -> None:
    module = importlib.import_module(f"manywheel.{package}")
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    for name, source in getattr(module, "_LAZY", {}).items():
        assert name in module.__all__, name
        assert getattr(module, name) is getattr(importlib.import_module(source), name), name


def test_show_json_imports_none_of_the_lazy_modules() -> None:
    lazy = sorted(
        {
            source
            for package in PACKAGES
            for source in getattr(
                importlib.import_module(f"manywheel.{package}"), "_LAZY", {}
            ).values()
        }
    )
    probe = (
        "import sys; import manywheel.audit, manywheel.report, manywheel.cli.show_command; "
        "print('\\n'.join(sorted(sys.modules)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert [m for m in lazy if m in loaded] == []
