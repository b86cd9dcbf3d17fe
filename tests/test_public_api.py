"""The public API is what ``manywheel.__all__`` says, and it is pinned here, names *and*
signatures: ``tests/public_api.txt`` holds every public function's signature and every public
class's constructor, methods and properties (and those of the types the API returns, listed in
``RETURNED``). A change to it is a deliberate, reviewed change to that file:
``python -m tests.test_public_api`` rewrites it, the diff shows what changed, CHANGELOG.md says
why. Heavy names load lazily: importing the package alone imports none of the subpackages."""

from __future__ import annotations

import ast
import enum
import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import manywheel

PINNED = Path(__file__).with_name("public_api.txt")
SOURCE = Path(manywheel.__file__)

#: Types the public functions return or hold whose attributes users read (documented in
#: docs/api.md): their surface is pinned too.
RETURNED = (
    "manywheel.audit:ElfMember",
    "manywheel.audit:ExternalLibrary",
    "manywheel.audit:NeededLibrary",
    "manywheel.elf:AndroidIdent",
    "manywheel.linker:LoadedObject",
    "manywheel.linker:Resolution",
    "manywheel.linker:Rule",
    "manywheel.policy:Policy",
    "manywheel.policy:PolicyVerdict",
    "manywheel.policy:Reason",
    "manywheel.policy:ReasonKind",
)


def _signature(obj: object) -> str:
    try:
        return str(inspect.signature(obj))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "(...)"


def _class_lines(name: str, cls: type) -> list[str]:
    if issubclass(cls, enum.Enum):
        members = ", ".join(f"{m.name}={m.value!r}" for m in cls)
        return [f"enum {name}: {members}"]
    lines = [f"class {name}{_signature(cls)}"]
    for attr, value in sorted(vars(cls).items()):
        if attr.startswith("_"):
            continue
        if isinstance(value, property):
            lines.append(f"    {name}.{attr}: property")
        elif isinstance(value, (staticmethod, classmethod)):
            kind = type(value).__name__
            lines.append(f"    {name}.{attr}{_signature(value.__func__)} [{kind}]")
        elif inspect.isfunction(value):
            lines.append(f"    {name}.{attr}{_signature(value)}")
    return lines


def _lines(name: str, obj: object) -> list[str]:
    if isinstance(obj, type):
        return _class_lines(name, obj)
    if callable(obj):
        return [f"def {name}{_signature(obj)}"]
    return [f"{name}: {type(obj).__name__}"]


def surface() -> str:
    """The public surface as text: one line per function, class, method and property."""
    lines = []
    for name in sorted(manywheel.__all__):
        lines += _lines(name, getattr(manywheel, name))
    lines.append("")
    lines.append("# returned types")
    for spec in RETURNED:
        module, _, name = spec.partition(":")
        lines += _lines(f"{module}.{name}", getattr(importlib.import_module(module), name))
    return "\n".join(lines) + "\n"


def _declared() -> tuple[list[str], dict[str, str], set[str]]:
    """``__all__``, ``_LAZY`` and the names the TYPE_CHECKING block imports, from the source."""
    tree = ast.parse(SOURCE.read_text(encoding="utf-8"))
    listed: list[str] = []
    lazy: dict[str, str] = {}
    typed: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if isinstance(target, ast.Name) and target.id == "__all__":
                listed = ast.literal_eval(node.value)  # type: ignore[arg-type]
            if isinstance(target, ast.Name) and target.id == "_LAZY":
                lazy = ast.literal_eval(node.value)  # type: ignore[arg-type]
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            typed |= {a.name for n in node.body if isinstance(n, ast.ImportFrom) for a in n.names}
    return listed, lazy, typed


def test_surface_is_pinned() -> None:
    assert surface() == PINNED.read_text(encoding="utf-8"), (
        "the public API changed: if on purpose, run `python -m tests.test_public_api` to "
        "rewrite tests/public_api.txt, and record the change in CHANGELOG.md"
    )


def test_one_list_declares_every_name() -> None:
    """``__all__`` is sorted; each lazy name is in ``_LAZY`` and imported for type checkers."""
    listed, lazy, typed = _declared()
    assert listed == sorted(listed) == manywheel.__all__
    errors = {n for n in listed if n.endswith("Error")}
    assert set(lazy) == set(listed) - errors - {"__version__"}
    assert typed == set(lazy)
    for name, module in lazy.items():
        assert hasattr(importlib.import_module(module), name), (name, module)


def test_every_public_name_exists_and_is_documented() -> None:
    reference = (SOURCE.parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    for name in manywheel.__all__:
        obj = getattr(manywheel, name)
        assert obj is not None
        if name != "__version__":
            assert f"manywheel.{name}" in reference, f"{name} is missing from docs/api.md"
            assert inspect.getdoc(obj), f"{name} has no docstring"


def test_errors_share_one_root() -> None:
    for name in manywheel.__all__:
        obj = getattr(manywheel, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, manywheel.ManywheelError), name


def test_importing_the_package_is_cheap() -> None:
    probe = (
        "import sys, manywheel; print(sorted(m for m in sys.modules if m.startswith('manywheel.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['manywheel.errors']"


def test_unknown_attribute_is_an_attribute_error() -> None:
    assert not hasattr(manywheel, "no_such_name")


if __name__ == "__main__":
    PINNED.write_text(surface(), encoding="utf-8")
    print(f"wrote {PINNED}")
