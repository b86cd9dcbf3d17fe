"""``@value_class`` against the decorator it stands in for, ``@dataclass(frozen=True, slots=True)``:
each class below is made both ways from the same source, and the two must behave alike —
constructor and signature, defaults and factories, ``__post_init__``, equality, hash, repr,
immutability, slots, pattern matching, pickling, copying and the :mod:`dataclasses` API."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
import subprocess
import sys
import types
from collections.abc import Callable
from typing import Any

import pytest

from manywheel.values import value_class

#: Class bodies, each with the arguments of two instances to compare and one to mutate.
CASES: dict[str, tuple[str, tuple[dict[str, Any], ...]]] = {
    "plain": (
        '''
class C:
    """A docstring."""

    name: str
    size: int
''',
        ({"name": "a", "size": 1}, {"name": "a", "size": 2}, {"name": "a", "size": 1}),
    ),
    "defaults": (
        """
class C:
    name: str
    size: int = 3
    tags: tuple[str, ...] = ()
    extra: dict[str, int] = field(default_factory=dict)
""",
        ({"name": "a"}, {"name": "a", "extra": {"x": 1}}, {"name": "a", "size": 3, "tags": ()}),
    ),
    "field-options": (
        """
class C:
    key: str
    note: str = field(default="n", compare=False, repr=False)
    cached: int = field(default=0, hash=False)
    hidden: list[int] = field(default_factory=list, repr=False, compare=False)
    derived: int = field(init=False, default=7)
""",
        ({"key": "k", "note": "x"}, {"key": "k", "note": "y"}, {"key": "k", "cached": 1}),
    ),
    "post-init": (
        """
class C:
    items: tuple[int, ...]
    total: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "total", sum(self.items))
""",
        ({"items": (1, 2)}, {"items": (3,)}, {"items": (1, 2), "total": 99}),
    ),
    "own-methods": (
        """
class C:
    path: str
    count: int = 0
    LIMIT: ClassVar[int] = 10

    def __repr__(self) -> str:
        return f"<C {self.path}>"

    @property
    def double(self) -> int:
        return 2 * self.count

    def bigger(self, other: C) -> bool:
        return self.count > other.count
""",
        ({"path": "p"}, {"path": "q", "count": 2}, {"path": "p", "count": 0}),
    ),
    "own-eq": (
        """
class C:
    name: str
    size: int = 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, C) and other.name.lower() == self.name.lower()

    def __hash__(self) -> int:
        return hash(self.name.lower())
""",
        ({"name": "A"}, {"name": "a", "size": 2}, {"name": "b"}),
    ),
    "no-fields": ("\nclass C:\n    pass\n", ({}, {}, {})),
    "unhashable": (
        "\nclass C:\n    name: str\n    __hash__ = None  # type: ignore[assignment]\n",
        ({"name": "a"}, {"name": "a"}, {"name": "b"}),
    ),
}


def _make(source: str, decorate: Callable[[type], type]) -> type:
    """The class of ``source`` in a module of its own (as a real module holds it)."""
    module = types.ModuleType(f"_values_case_{id(decorate)}_{abs(hash(source))}")
    sys.modules[module.__name__] = module
    module.__dict__.update(
        {"field": dataclasses.field, "ClassVar": Any, "__name__": module.__name__}
    )
    exec("from __future__ import annotations\n" + source, module.__dict__)
    made = decorate(module.__dict__["C"])
    module.__dict__["C"] = made
    return made


def _dataclass(cls: type) -> type:
    return dataclasses.dataclass(frozen=True, slots=True)(cls)


@pytest.fixture(params=sorted(CASES))
def pair(request: pytest.FixtureRequest) -> tuple[type, type, tuple[dict[str, Any], ...]]:
    source, arguments = CASES[request.param]
    return _make(source, value_class), _make(source, _dataclass), arguments


def _state(obj: object) -> tuple[object, ...]:
    return tuple(getattr(obj, f.name) for f in dataclasses.fields(obj))  # type: ignore[arg-type]


def _hash_of(obj: object) -> object:
    """The hash, or the error hashing raises (a field holding a dict: unhashable either way)."""
    try:
        return hash(obj)
    except TypeError as e:
        return type(e)


def test_the_class_looks_the_same(pair: tuple[type, type, tuple[dict[str, Any], ...]]) -> None:
    ours, theirs, _ = pair
    assert str(inspect.signature(ours)) == str(inspect.signature(theirs))
    assert ours.__doc__ == theirs.__doc__
    assert dataclasses.is_dataclass(ours)
    keys = ("name", "type", "default", "default_factory", "init", "repr", "hash", "compare")
    fields = [tuple(getattr(f, k) for k in keys) for f in dataclasses.fields(ours)]
    assert fields == [tuple(getattr(f, k) for k in keys) for f in dataclasses.fields(theirs)]
    assert ours.__slots__ == theirs.__slots__  # type: ignore[attr-defined]
    assert ours.__match_args__ == theirs.__match_args__  # type: ignore[attr-defined]
    assert (ours.__hash__ is None) == (theirs.__hash__ is None)
    flags = ("init", "repr", "eq", "order", "unsafe_hash", "frozen")
    mine, reference = ours.__dataclass_params__, theirs.__dataclass_params__  # type: ignore[attr-defined]
    assert [getattr(mine, f) for f in flags] == [getattr(reference, f) for f in flags]


def test_instances_behave_the_same(pair: tuple[type, type, tuple[dict[str, Any], ...]]) -> None:
    ours, theirs, arguments = pair
    mine = [ours(**a) for a in arguments]
    reference = [theirs(**a) for a in arguments]
    for a, b in zip(mine, reference, strict=True):
        assert _state(a) == _state(b)
        assert repr(a).replace(ours.__qualname__, "C") == repr(b).replace(theirs.__qualname__, "C")
        assert _hash_of(a) == _hash_of(b)
        assert not hasattr(a, "__dict__")
    for i in range(len(mine)):
        for j in range(len(mine)):
            assert (mine[i] == mine[j]) == (reference[i] == reference[j]), (i, j)
    assert mine[0] != reference[0]  # two classes: never equal, as two dataclasses are not


def test_instances_are_immutable(pair: tuple[type, type, tuple[dict[str, Any], ...]]) -> None:
    ours, _, arguments = pair
    obj = ours(**arguments[0])
    for name in [f.name for f in dataclasses.fields(obj)] + ["other"]:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, name, 1)
        with pytest.raises(dataclasses.FrozenInstanceError):
            delattr(obj, name)


def test_the_dataclasses_api_pickling_and_copies_work(
    pair: tuple[type, type, tuple[dict[str, Any], ...]],
) -> None:
    ours, theirs, arguments = pair
    obj, ref = ours(**arguments[0]), theirs(**arguments[0])
    assert dataclasses.asdict(obj) == dataclasses.asdict(ref)
    changes = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if f.init}
    assert _state(dataclasses.replace(obj, **changes)) == _state(obj)
    for clone in (pickle.loads(pickle.dumps(obj)), copy.copy(obj), copy.deepcopy(obj)):
        assert type(clone) is ours and _state(clone) == _state(obj)


def test_missing_and_unknown_arguments_fail_as_dataclass_does() -> None:
    ours = _make(CASES["plain"][0], value_class)
    theirs = _make(CASES["plain"][0], _dataclass)
    for arguments in ({"name": "a"}, {"name": "a", "size": 1, "nope": 2}):
        with pytest.raises(TypeError):
            theirs(**arguments)
        with pytest.raises(TypeError):
            ours(**arguments)
    assert ours("a", 1) == ours(name="a", size=1)


def test_a_subclass_that_is_no_value_class_may_add_attributes() -> None:
    """As with a frozen dataclass, a plain subclass (not itself frozen) keeps its own
    attributes writable; the fields stay frozen."""
    ours = _make(CASES["plain"][0], value_class)
    sub = type("Sub", (ours,), {})
    obj = sub(name="a", size=1)
    obj.extra = 5
    assert obj.extra == 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        obj.size = 2


def test_the_shipped_makers_are_those_of_manywheels_own_classes() -> None:
    """``manywheel._value_makers`` (generated: the ``__init__`` makers of every shape
    manywheel's classes have, compiled with the module, not at start-up) is what
    ``python -m manywheel.values`` writes today; a class of a shape not shipped is compiled
    when made (the cases above make both kinds and hold them to ``dataclass``)."""
    from manywheel import values

    done = subprocess.run(
        [sys.executable, "-m", "manywheel.values", "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    plain = ("argument", "argument", False)
    assert plain in values._MAKERS  # shipped
    odd = ("set-factory",) * 7 + (True,)
    assert odd not in values._MAKERS
    fields = "".join(
        f"    f{i}: list = field(init=False, default_factory=list)\n" for i in range(7)
    )
    post_init = "    def __post_init__(self):\n        object.__setattr__(self, 'f0', [1])\n"
    ours = _make(f"class C:\n{fields}{post_init}", value_class)
    assert odd in values._MAKERS  # compiled for it
    assert ours().f0 == [1]
    assert ours().f6 == []


def test_dataclasses_comes_without_inspect_until_it_is_used() -> None:
    """``manywheel.values`` imports :mod:`dataclasses` without :mod:`inspect` (``ast``,
    ``dis``, ``tokenize``: 4 ms of a small wheel's ``show``); ``dataclass`` still writes a
    docstring from the signature when asked, and ``import inspect`` is the real module."""
    probe = (
        "import sys\n"
        "import manywheel.values\n"
        "print('inspect' in sys.modules)\n"
        "import dataclasses\n"
        "@dataclasses.dataclass\n"
        "class B:\n"
        "    x: int\n"
        "print(B.__doc__)\n"
        "import inspect\n"
        "print(inspect.signature(B), type(dataclasses.inspect).__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["False", "B(x: int)", "(x: int) -> None module"]
