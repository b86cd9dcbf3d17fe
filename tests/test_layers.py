"""The import direction of STYLE.md, enforced: errors | values | lazy -> elf | wheel -> linker ->
policy -> audit -> repair -> report -> build | survey -> cli. Nothing imports cli; siblings (elf
and wheel, build and survey) never import each other; other packages use a subpackage's public
names (``manywheel.elf``), not its private modules. (``values`` and ``lazy``, beside ``errors``,
hold the value-class decorator and the lazy names every package may use.)"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "manywheel"
RANK = {
    "errors": 0,
    "values": 0,
    "lazy": 0,
    "elf": 1,
    "wheel": 1,
    "linker": 2,
    "policy": 3,
    "audit": 4,
    "repair": 5,
    "report": 6,
    "build": 7,
    "survey": 7,
    "cli": 8,
}
#: Top-level modules that are part of another (generated code: ``values``' shipped makers).
PART_OF = {"_value_makers": "values"}


def _modules() -> list[Path]:
    return sorted(
        p
        for p in SRC.rglob("*.py")
        if p.parent != SRC or p.stem in ("errors", "values", "lazy", *PART_OF)
    )


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return [n for n in names if n == "manywheel" or n.startswith("manywheel.")]


def _package_of(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0] if len(rel.parts) > 1 else PART_OF.get(rel.stem, rel.stem)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_run_one_way(path: Path) -> None:
    own = _package_of(path)
    for name in _imports(path):
        parts = name.split(".")
        if len(parts) == 1:  # only the CLI, at the top, may use the top-level package
            assert own == "cli", f"{own} imports the top-level package; import a subpackage"
            continue
        target = PART_OF.get(parts[1], parts[1])
        if target == own:
            continue
        assert target in RANK, f"{name}: unknown subpackage"
        assert RANK[target] < RANK[own], f"{own} must not import {target} ({name})"
        assert len(parts) == 2, f"{own} imports the private module {name}; use manywheel.{target}"


def test_every_subpackage_has_a_rank() -> None:
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= RANK.keys()


def _imported_names(path: Path) -> list[tuple[int, str, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        (node.lineno, node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.level == 0
        and node.module is not None
        and node.module.split(".")[0] == "manywheel"
        for alias in node.names
    ]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_every_imported_name_exists(path: Path) -> None:
    """``from manywheel.X import name`` — in a function or under TYPE_CHECKING too — names
    something X has: the packages' lazy ``__getattr__`` would otherwise hide a wrong import
    from mypy until the line runs (it once did: a name imported from the wrong package)."""
    wrong = []
    for line, module, name in _imported_names(path):
        imported = importlib.import_module(module)
        if hasattr(imported, name) or importlib.util.find_spec(f"{module}.{name}") is not None:
            continue
        wrong.append(f"line {line}: {module} has no {name}")
    assert wrong == []
