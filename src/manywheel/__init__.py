"""manywheel: audit and repair Linux binary wheels for the manylinux and musllinux policies."""

from manywheel.errors import (
    InputError,
    InvalidElfError,
    InvalidPolicyError,
    InvalidWheelError,
    ManywheelError,
    NotPlatformWheelError,
    ToolError,
    UnsafeWheelError,
)

__version__ = "0.1.0.dev0"

__all__ = [
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
