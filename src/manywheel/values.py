"""``@value_class``: immutable value classes, made cheaply.

``@value_class`` makes what ``@dataclass(frozen=True, slots=True)`` makes — the same fields and
defaults, constructor (and signature), equality, hash, repr, immutability (``FrozenInstanceError``),
``__slots__``, ``__match_args__``, pickling and copying, and the :mod:`dataclasses` API
(``fields``, ``replace``, ``asdict``, ``is_dataclass``) — but creating the class costs a fifth
of it. CPython 3.10 to 3.12 compile six methods for each frozen dataclass when its module is
imported (about 0.4 ms a class): a small wheel's ``show`` creates some seventy value classes
before it reads a byte, a third of its run. Here :mod:`dataclasses` collects the fields and
makes the slots, one ``__init__`` is made (the constructor stays as fast as a dataclass's; its
code is compiled once per shape of class and renamed for each, which halves the cost again, and
the shapes manywheel's own classes have come compiled in :mod:`manywheel._value_makers`),
and equality, hash, repr and the frozen attribute guards are small functions shared by all
classes. ``tests/test_values.py`` holds it to ``dataclass``'s behaviour, feature by feature.

Type checkers see a frozen dataclass (PEP 681).
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Callable, Iterable, Sequence
from reprlib import recursive_repr
from types import CodeType, FunctionType, ModuleType
from typing import TYPE_CHECKING, Any, TypeVar, cast


def _import_dataclasses() -> None:
    """Import :mod:`dataclasses` without loading :mod:`inspect` until it is used: on CPython
    3.10 and 3.11 ``dataclass`` uses it only to write a docstring from the signature, which
    :func:`value_class` never asks for, and it costs a small wheel's ``show`` 4 ms (``ast``,
    ``dis``, ``tokenize``). While :mod:`dataclasses` imports, ``sys.modules`` holds a
    placeholder for :mod:`inspect` (removed right after: any other ``import inspect`` is the
    real one); :mod:`dataclasses` is left a stand-in that imports the real module and hands
    it over at its first use (3.12 and later: at the first class). Should the import need
    :mod:`inspect` itself (another version), it is done again the ordinary way."""
    if "dataclasses" in sys.modules or "inspect" in sys.modules:
        return
    before = set(sys.modules)
    placeholder = sys.modules["inspect"] = ModuleType("inspect")
    try:
        import dataclasses  # noqa: F401 - for its side effect: the module, loaded
    except Exception:  # any failure: the ordinary import below decides
        sys.modules.pop("dataclasses", None)
        return
    finally:
        del sys.modules["inspect"]
    for name in set(sys.modules) - before:  # dataclasses, and whatever it brought along
        module = sys.modules[name]
        if getattr(module, "inspect", None) is placeholder:
            module.inspect = _InspectOnFirstUse(module)  # type: ignore[attr-defined]


class _InspectOnFirstUse:
    """:mod:`inspect` for a module that imported it, imported when an attribute is first asked
    for (and put in the module's place, so it is asked once)."""

    def __init__(self, owner: ModuleType) -> None:
        self._owner = owner

    def __getattr__(self, name: str) -> object:
        import inspect

        self._owner.inspect = inspect  # type: ignore[attr-defined]
        return getattr(inspect, name)


_import_dataclasses()

import dataclasses  # noqa: E402 - after the line above
from dataclasses import MISSING, Field, FrozenInstanceError, field  # noqa: E402

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:

    def dataclass_transform(**_: object) -> Callable[[_T], _T]:
        return lambda function: function


__all__ = ["value_class"]

_T = TypeVar("_T")
_C = TypeVar("_C", bound=type)


class _Factory:
    """The default of a field with a ``default_factory`` in ``__init__``'s signature."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()
_SET = object.__setattr__


@dataclass_transform(frozen_default=True, field_specifiers=(field, Field))
def value_class(original: _C) -> _C:
    """Make a class with annotated fields an immutable value class: see the module."""
    own = set(vars(original))
    doc = original.__doc__
    # dataclass's rule: a __hash__ of the class's own counts, unless it is the None Python
    # puts there for a class that defines __eq__ alone
    own_hash = vars(original).get("__hash__", MISSING)
    explicit_hash = not (own_hash is MISSING or (own_hash is None and "__eq__" in own))
    if not doc:  # else dataclass writes one from inspect.signature (tokenize: milliseconds)
        original.__doc__ = original.__name__
    cls: Any = dataclasses.dataclass(original, init=False, repr=False, eq=False, slots=True)
    fields = dataclasses.fields(cls)
    cls.__init__ = _init(cls, fields)
    if not doc:
        cls.__doc__ = f"{cls.__name__}({_signature_text(fields)})"
    names = tuple(f.name for f in fields)
    compared = tuple(f.name for f in fields if f.compare)
    hashed = tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash))
    shown = tuple(f.name for f in fields if f.repr)
    if "__eq__" not in own:
        cls.__eq__ = _eq(_getter(compared))
    if not explicit_hash:
        cls.__hash__ = _hash(_getter(hashed))
    if "__repr__" not in own:
        cls.__repr__ = _repr(shown)
    guarded = frozenset(names)
    cls.__setattr__ = _setattr(cls, guarded)
    cls.__delattr__ = _delattr(cls, guarded)
    cls.__getstate__ = _getstate(names)
    cls.__setstate__ = _setstate(names)
    _describe(cls.__dataclass_params__)
    return cast("_C", cls)


def _describe(params: Any) -> None:
    """Make the class's ``__dataclass_params__`` say what it is (a frozen dataclass with a
    constructor, repr and equality), for code that asks, and for ``dataclass`` itself when a
    subclass is made a frozen dataclass."""
    for name in ("init", "repr", "eq", "frozen"):
        setattr(params, name, True)


#: ``__make_init__`` (see :func:`_init`) compiled once per shape of class: the kind of each
#: field and whether there is a ``__post_init__``.
_MAKERS: dict[tuple[object, ...], CodeType] = {}
#: The shapes of the value classes made in this process (``python -m manywheel.values`` writes
#: the makers of manywheel's own to :mod:`manywheel._value_makers`: see :func:`_regenerate`).
_SHAPES_SEEN: set[tuple[object, ...]] = set()
#: The parameter standing for field ``index`` in a compiled shape (renamed for each class).
_PLACEHOLDER = "__value_field_{}"


def _init(cls: type, fields: tuple[Field[Any], ...]) -> Callable[..., None]:
    """``__init__`` as ``dataclass`` writes it for a frozen class: each field set with
    ``object.__setattr__``, a factory called when its argument is left out, then
    ``__post_init__`` when the class has one.

    Compiling it is most of what making a value class costs, so the code is compiled once
    per shape (most classes are a few plain fields) with placeholder names, and each class
    gets a copy whose parameter names and attribute names are its fields' (``code.replace``);
    the defaults are the function's ``__defaults__``, as a compiled ``name=default`` makes."""
    namespace: dict[str, Any] = {"_set": _SET, "_FACTORY": _FACTORY}
    kinds: list[str] = []
    defaults: list[object] = []
    for index, f in enumerate(fields):
        kind = _field_kind(cls, f, defaults)
        kinds.append(kind)
        if kind in {"factory", "set-factory"}:
            namespace[f"_factory{index}"] = f.default_factory
        elif kind == "set-default":
            namespace[f"_default{index}"] = f.default
    post_init = hasattr(cls, "__post_init__")
    shape = (*kinds, post_init)
    _SHAPES_SEEN.add(shape)
    maker = _MAKERS.get(shape)
    if maker is None:
        maker = _MAKERS[shape] = _compile_maker(kinds, post_init)
    renamed = {_PLACEHOLDER.format(i): f.name for i, f in enumerate(fields)}
    inner = next(c for c in maker.co_consts if isinstance(c, CodeType))
    own = inner.replace(
        co_varnames=tuple(renamed.get(n, n) for n in inner.co_varnames),
        co_consts=tuple(renamed.get(c, c) if type(c) is str else c for c in inner.co_consts),
    )
    outer = maker.replace(co_consts=tuple(own if c is inner else c for c in maker.co_consts))
    # As dataclasses does: the module's globals (so type hints resolve), the helpers as the
    # closure of a function that makes __init__.
    module = sys.modules.get(cls.__module__)
    make = FunctionType(outer, vars(module) if module is not None else {})
    init: Callable[..., None] = make(**namespace)
    init.__defaults__ = tuple(defaults) or None
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__annotations__ = {f.name: f.type for f in fields if f.init} | {"return": None}
    return init


def _field_kind(cls: type, f: Field[Any], defaults: list[object]) -> str:
    """How ``__init__`` sets field ``f``: ``"argument"``, ``"factory"`` (an argument whose
    default calls the factory), or for a field that is no argument ``"set-default"``,
    ``"set-factory"`` or ``"unset"``. An argument's default is appended to ``defaults``."""
    if not f.init:
        if f.default is not MISSING:
            return "set-default"
        return "unset" if f.default_factory is MISSING else "set-factory"
    if f.kw_only is True:  # not used: keep the generated signature simple
        raise TypeError(f"{cls.__name__}.{f.name}: keyword-only fields are not supported")
    if f.default is not MISSING:
        defaults.append(f.default)
    elif f.default_factory is not MISSING:
        defaults.append(_FACTORY)
        return "factory"
    elif defaults:
        raise TypeError(f"non-default argument {f.name!r} follows default argument")
    return "argument"


def _compile_maker(kinds: list[str], post_init: bool) -> CodeType:
    """The code of ``__make_init__(_set, _FACTORY, <helpers>)`` for one shape, fields named by
    :data:`_PLACEHOLDER` (compiled here: a shape no shipped class has)."""
    module = compile(_maker_source(kinds, post_init), "<string>", "exec")
    return next(c for c in module.co_consts if isinstance(c, CodeType))


def _maker_source(kinds: Sequence[str], post_init: bool, *, typed: bool = False) -> str:
    """The source of ``__make_init__`` for one shape (``typed``: every parameter annotated
    ``Any``, for the shipped makers this module is compiled with)."""
    helpers: list[str] = []
    params: list[str] = []
    body: list[str] = []
    for index, kind in enumerate(kinds):
        name = _PLACEHOLDER.format(index)
        if kind == "set-default":
            helpers.append(f"_default{index}")
            body.append(f"_set(self, {name!r}, _default{index})")
        elif kind == "set-factory":
            helpers.append(f"_factory{index}")
            body.append(f"_set(self, {name!r}, _factory{index}())")
        elif kind == "factory":
            helpers.append(f"_factory{index}")
            params.append(name)
            factory = f"_factory{index}()"
            body.append(f"_set(self, {name!r}, {factory} if {name} is _FACTORY else {name})")
        elif kind == "argument":
            params.append(name)
            body.append(f"_set(self, {name!r}, {name})")
    if post_init:
        body.append("self.__post_init__()")
    lines = "\n        ".join(body or ["pass"])
    typed_as, returns, inits = (": Any", " -> Any", " -> None") if typed else ("", "", "")
    outer = ", ".join(f"{p}{typed_as}" for p in ["_set", "_FACTORY", *helpers])
    inner = ", ".join(f"{p}{typed_as}" for p in ["self", *params])
    return (
        f"def __make_init__({outer}){returns}:\n"
        f"    def __init__({inner}){inits}:\n        {lines}\n"
        "    return __init__\n"
    )


def _signature_text(fields: tuple[Field[Any], ...]) -> str:
    """The constructor's parameters as ``dataclass`` puts them in a docstring."""
    parts = []
    for f in (f for f in fields if f.init):
        default = ""
        if f.default is not MISSING:
            default = f" = {f.default!r}"
        elif f.default_factory is not MISSING:
            default = " = <factory>"
        parts.append(f"{f.name}: {f.type!r}{default}")
    return ", ".join(parts)


def _getter(names: tuple[str, ...]) -> Callable[[object], tuple[object, ...]]:
    """The tuple of ``names``' values, at C speed."""
    if len(names) > 1:
        return operator.attrgetter(*names)
    if names:
        single = operator.attrgetter(names[0])
        return lambda obj: (single(obj),)
    return lambda obj: ()


def _eq(key: Callable[[object], tuple[object, ...]]) -> Callable[[object, object], object]:
    def __eq__(self: object, other: object) -> object:
        if other.__class__ is self.__class__:
            return key(self) == key(other)
        return NotImplemented

    return __eq__


def _hash(key: Callable[[object], tuple[object, ...]]) -> Callable[[object], int]:
    def __hash__(self: object) -> int:
        return hash(key(self))

    return __hash__


def _repr(names: tuple[str, ...]) -> Callable[[object], str]:
    @recursive_repr()
    def __repr__(self: object) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{self.__class__.__qualname__}({shown})"

    return __repr__


def _setattr(cls: type, names: frozenset[str]) -> Callable[[object, str, object], None]:
    def __setattr__(self: object, name: str, value: object) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)  # type: ignore[arg-type]

    return __setattr__


def _delattr(cls: type, names: frozenset[str]) -> Callable[[object, str], None]:
    def __delattr__(self: object, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)  # type: ignore[arg-type]

    return __delattr__


def _getstate(names: tuple[str, ...]) -> Callable[[object], list[object]]:
    def __getstate__(self: object) -> list[object]:
        return [getattr(self, name) for name in names]

    return __getstate__


def _setstate(names: tuple[str, ...]) -> Callable[[object, list[object]], None]:
    def __setstate__(self: object, state: list[object]) -> None:
        for name, item in zip(names, state, strict=True):
            _SET(self, name, item)

    return __setstate__


def _generated(shapes: Iterable[tuple[object, ...]]) -> str:
    """The text of :mod:`manywheel._value_makers` for ``shapes``."""
    out = [
        '"""Generated by ``python -m manywheel.values`` (do not edit): the ``__make_init__`` of',
        "each shape manywheel's own value classes have (:func:`manywheel.values.value_class`),",
        "compiled with this module, not at every start-up: their ``compile`` calls took 3 ms of",
        'a small wheel\'s ``show``. ``tests/test_values.py`` checks it is current."""',
        "",
        "# fmt: off",
        "# ruff: noqa: E501",
        '# mypy: disable-error-code="no-redef"',
        "from __future__ import annotations",
        "",
        "from types import CodeType",
        "from typing import Any",
        "",
        "",
        "def shipped_makers() -> dict[tuple[object, ...], CodeType]:",
        "    makers: dict[tuple[object, ...], CodeType] = {}",
    ]
    for shape in sorted(shapes, key=repr):
        *kinds, post_init = shape
        source = _maker_source([str(k) for k in kinds], bool(post_init), typed=True)
        out.append("")
        out.extend(f"    {line}" for line in source.splitlines())
        out.append(f"    makers[{shape!r}] = __make_init__.__code__")
    out.append("    return makers")
    return "\n".join(out) + "\n"


def _regenerate(check: bool) -> int:
    """Import every module of manywheel, then write (or with ``check`` compare) the shipped
    makers for the shapes their value classes have; 1 when ``check`` finds them stale."""
    import contextlib
    import importlib
    import pkgutil
    from pathlib import Path

    for info in pkgutil.walk_packages([str(Path(__file__).parent)], "manywheel."):
        with contextlib.suppress(ImportError):  # an optional dependency missing: its classes
            importlib.import_module(info.name)  # compile at run time
    shapes = sys.modules["manywheel.values"]._SHAPES_SEEN  # (not __main__'s own copy)
    path = Path(__file__).with_name("_value_makers.py")
    fresh = _generated(shapes)
    if check:
        if not path.is_file() or path.read_text(encoding="utf-8") != fresh:
            print(f"{path}: the shipped makers are stale: run python -m manywheel.values")
            return 1
        return 0
    path.write_text(fresh, encoding="utf-8")
    return 0


def _load_shipped() -> None:
    """The makers of the shipped shapes, compiled with :mod:`manywheel._value_makers`."""
    try:
        from manywheel._value_makers import shipped_makers
    except ImportError:  # pragma: no cover - being regenerated
        return
    _MAKERS.update(shipped_makers())


_load_shipped()

if __name__ == "__main__":
    sys.exit(_regenerate(check="--check" in sys.argv[1:]))
