"""The public API is what ``manywheel.__all__`` says, and it is pinned here: a change to it is a
deliberate, reviewed change to this list."""

from __future__ import annotations

import manywheel

PUBLIC_API = [
    "InputError",
    "InvalidElfError",
    "InvalidPolicyError",
    "InvalidWheelError",
    "ManywheelError",
    "NotPlatformWheelError",
    "ToolError",
    "UnsafeWheelError",
    "__version__",
]


def test_all_is_pinned() -> None:
    assert sorted(manywheel.__all__) == sorted(PUBLIC_API)


def test_every_public_name_exists() -> None:
    missing = [name for name in manywheel.__all__ if not hasattr(manywheel, name)]
    assert missing == []


def test_errors_share_one_root() -> None:
    for name in manywheel.__all__:
        obj = getattr(manywheel, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, manywheel.ManywheelError), name
