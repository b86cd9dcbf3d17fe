"""Wheel filenames: ``{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl``.

Validation is ``packaging``'s; this module keeps what ``packaging`` drops: the order of the
compressed tag sets as written, and the filename's own spelling (needed to rename a wheel without
renormalising its name).

``packaging.utils`` costs a small wheel's ``show`` some 8 ms of imports (``packaging.tags``
brings ``platform``, ``sysconfig``, ``subprocess`` and ``logging``), so the ordinary spellings
are recognised here first (:func:`plainly_valid`, :func:`tag_keys`): a filename or tag that
every ``packaging`` from 24.2 on accepts, and whose tags compare as ``packaging``'s ``Tag``
would. Anything else goes to ``packaging`` itself, which validates (and words the error) as
before. ``tests/wheel/test_filename_fast_path.py`` holds the two to the same answers.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from manywheel.errors import InvalidWheelError
from manywheel.values import value_class

if TYPE_CHECKING:
    from packaging.tags import Tag

__all__ = ["WheelFilename", "canonical_name", "plainly_valid", "tag_keys"]

#: A project name as wheel filenames escape it (PEP 427), without ``__`` and in ASCII: a
#: subset of what ``packaging`` accepts.
_NAME = r"[A-Za-z0-9]+(?:[._][A-Za-z0-9]+)*"
#: Canonical PEP 440 versions (epoch, release, pre, post, dev, local): all valid.
_VERSION = (
    r"(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*(?:(?:a|b|rc)[0-9]+)?(?:\.post[0-9]+)?(?:\.dev[0-9]+)?"
    r"(?:\+[a-z0-9]+(?:\.[a-z0-9]+)*)?"
)
#: Compressed tag sets: interpreters are identifiers, every part non-empty ASCII.
_INTERPRETERS = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
_PARTS = r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*"
_TAG = f"{_INTERPRETERS}-{_PARTS}-{_PARTS}"
_PLAIN_FILENAME = re.compile(f"{_NAME}-{_VERSION}(?:-[0-9][A-Za-z0-9_]*)?-{_TAG}\\.whl", re.ASCII)
_PLAIN_TAG = re.compile(_TAG, re.ASCII)


def plainly_valid(filename: str) -> bool:
    """Whether ``filename`` is spelt so plainly that every ``packaging`` (24.2 on) accepts it:
    ``False`` means ask ``packaging`` (the filename may still be valid)."""
    return _PLAIN_FILENAME.fullmatch(filename) is not None


def tag_keys(line: str) -> frozenset[tuple[str, str, str]] | None:
    """The tags a plainly spelt tag line (``py3-none-any``, compressed sets allowed) expands
    to, as ``(interpreter, abi, platform)`` lowercased — equal where ``packaging``'s ``Tag``
    objects are equal; ``None`` for any other spelling (ask ``packaging``)."""
    if _PLAIN_TAG.fullmatch(line) is None:
        return None
    pythons, abis, platforms = (part.lower().split(".") for part in line.split("-"))
    return frozenset((py, abi, plat) for py in pythons for abi in abis for plat in platforms)


def canonical_name(name: str) -> str:
    """The PEP 503 normalised form of a project name (``packaging.utils.canonicalize_name``:
    runs of ``-``, ``_`` and ``.`` become one ``-``, lowercased)."""
    value = name.lower().replace("_", "-").replace(".", "-")
    while "--" in value:
        value = value.replace("--", "-")
    return value


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
        if not plainly_valid(filename):
            from packaging.utils import InvalidWheelFilename, parse_wheel_filename

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
        from packaging.tags import Tag

        return frozenset(
            Tag(py, abi, plat)
            for py in self.python_tags
            for abi in self.abi_tags
            for plat in self.platform_tags
        )

    @property
    def tag_keys(self) -> frozenset[tuple[str, str, str]]:
        """:attr:`tags` as :func:`tag_keys` gives them: ``(python, abi, platform)`` lowercased
        (meaningful for a :func:`plainly_valid` filename)."""
        return frozenset(
            (py.lower(), abi.lower(), plat.lower())
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
