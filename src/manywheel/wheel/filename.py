"""Wheel filenames: ``{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl``.

Validation is ``packaging``'s; this module keeps what ``packaging`` drops: the order of the
compressed tag sets as written, and the filename's own spelling (needed to rename a wheel without
renormalising its name).
"""

from __future__ import annotations

from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from manywheel.errors import InvalidWheelError
from manywheel.values import value_class

__all__ = ["WheelFilename"]


@value_class
class WheelFilename:
    """A parsed wheel filename. Tag sets are kept in the order the filename gives them."""

    raw: str
    name: str
    version: str
    build: str | None
    python_tags: tuple[str, ...]
    abi_tags: tuple[str, ...]
    platform_tags: tuple[str, ...]

    @classmethod
    def parse(cls, filename: str) -> WheelFilename:
        """Parse a bare filename (no directory). Raises :class:`InvalidWheelError`."""
        try:
            parse_wheel_filename(filename)
        except InvalidWheelFilename as e:
            raise InvalidWheelError(f"not a valid wheel filename: {e}", path=filename) from e
        parts = filename[: -len(".whl")].split("-")
        build = parts[2] if len(parts) == 6 else None
        python, abi, platform = parts[-3:]
        return cls(
            raw=filename,
            name=parts[0],
            version=parts[1],
            build=build,
            python_tags=tuple(python.split(".")),
            abi_tags=tuple(abi.split(".")),
            platform_tags=tuple(platform.split(".")),
        )

    @property
    def tags(self) -> frozenset[Tag]:
        """Every (python, abi, platform) combination the compressed tag sets expand to."""
        return frozenset(
            Tag(py, abi, plat)
            for py in self.python_tags
            for abi in self.abi_tags
            for plat in self.platform_tags
        )

    @property
    def dist_info(self) -> str:
        """The ``.dist-info`` directory name this filename implies (name and version as spelt)."""
        return f"{self.name}-{self.version}.dist-info"

    def with_platforms(self, platforms: tuple[str, ...]) -> WheelFilename:
        """The same filename with its platform tag set replaced, as given (order kept)."""
        prefix = self.raw[: -len(".whl")].rsplit("-", 1)[0]
        return WheelFilename.parse(f"{prefix}-{'.'.join(platforms)}.whl")
