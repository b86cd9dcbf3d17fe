"""Where a wheel's members install (the binary distribution format, PEP 427 as amended): the
rules every part of manywheel that places a member follows, in one module.

- A member outside ``<name>.data/`` installs below the wheel's root directory: site-packages
  (purelib or platlib, as ``Root-Is-Purelib`` says; the same directory on every common scheme).
- ``<name>.data/<scheme>/<path>`` installs ``<path>`` into the installer's ``<scheme>``
  directory: ``purelib`` and ``platlib`` are site-packages too; ``scripts``, ``data``,
  ``headers`` land wherever the installation's scheme puts them (not at a fixed place relative
  to site-packages).
- ``<name>.dist-info/`` holds the metadata.
"""

from __future__ import annotations

__all__ = [
    "DATA_SUFFIX",
    "LIB_SCHEMES",
    "data_scheme",
    "in_scheme",
    "is_script",
    "site_packages_path",
]

#: The suffix of the directory of members installed into the installer's scheme directories.
DATA_SUFFIX = ".data"
#: The schemes that install into site-packages.
LIB_SCHEMES = ("platlib", "purelib")


def data_scheme(member: str) -> tuple[str, str] | None:
    """``(scheme, path)`` of a member below ``<name>.data/<scheme>/``; ``None`` for any other."""
    top, _, rest = member.partition("/")
    scheme, sep, path = rest.partition("/")
    if not top.endswith(DATA_SUFFIX) or not sep or not scheme or not path:
        return None
    return scheme, path


def in_scheme(member: str, scheme: str) -> bool:
    """Whether ``member`` installs into the installer's ``scheme`` directory by way of
    ``<name>.data/<scheme>/``."""
    found = data_scheme(member)
    return found is not None and found[0] == scheme


def is_script(member: str) -> bool:
    """A file directly in ``<name>.data/scripts/``: installed in the scripts directory (a
    ``bin/`` whose place relative to site-packages depends on the scheme)."""
    found = data_scheme(member)
    return found is not None and found[0] == "scripts" and "/" not in found[1]


def site_packages_path(member: str) -> str | None:
    """The path below site-packages ``member`` installs at: its own for a member of the root,
    the rest of it for ``.data/purelib`` and ``.data/platlib``; ``None`` for the other schemes
    (they do not land in site-packages)."""
    found = data_scheme(member)
    if found is None:
        return member
    scheme, path = found
    return path if scheme in LIB_SCHEMES else None
