"""Retagging a wheel for new platforms, by auditwheel's rules (``add_platforms`` and
``get_replace_platforms`` in auditwheel 6), so filenames come out the same:

- the filename's platform tags: the replaced ones (``linux_<arch>`` for a manylinux/musllinux
  target) dropped, the new ones added, deduplicated and sorted, as auditwheel 6 writes them
  (``manylinux2014_x86_64.manylinux_2_17_x86_64``);
- an Android (PEP 738) wheel has one platform tag: a new ``android_N_<abi>`` replaces the old
  ``android_*_<abi>`` and ``linux_<arch>`` (auditwheel never changes an Android tag);
- ``any`` cannot stand beside another platform: it is dropped and the wheel becomes platlib;
- WHEEL's Tag lines: each distinct ``python-abi`` pair gets every new platform, and the lines
  for replaced platforms go, other lines stay in their order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from manywheel.values import value_class

__all__ = ["Retag", "replaced_platforms", "retag"]


@value_class
class Retag:
    #: The filename's new platform tag set, in filename order.
    platform_tags: tuple[str, ...]
    #: WHEEL's new Tag lines, in file order.
    wheel_tags: tuple[str, ...]
    #: True when ``any`` was dropped: Root-Is-Purelib must become false.
    platlib: bool


def replaced_platforms(platform: str) -> tuple[str, ...]:
    """The platform tags a new ``platform`` replaces: ``linux_<arch>`` for ``manylinux_*``,
    ``musllinux_*`` and legacy ``manylinux1/2010/2014_*`` tags; none for ``linux_*`` itself."""
    if platform.startswith("linux"):
        return ()
    parts = platform.split("_")
    if platform.startswith(("manylinux_", "musllinux_")):
        return ("linux_" + "_".join(parts[3:]),)
    return ("linux_" + "_".join(parts[1:]),)


#: PEP 738's ABI names and the architectures of their ``linux_*`` tags.
_ANDROID_ARCH = {"arm64_v8a": "aarch64", "x86_64": "x86_64", "armeabi_v7a": "armv7l", "x86": "i686"}


def _android_replaced(platform: str, existing: Iterable[str]) -> list[str] | None:
    """For an ``android_N_<abi>`` target, the tags it replaces among ``existing``; else None."""
    if not platform.startswith("android_"):
        return None
    abi = platform.split("_", 2)[2]
    arch = _ANDROID_ARCH.get(abi, abi)
    return [
        t
        for t in existing
        if t == f"linux_{arch}" or (t.startswith("android_") and t.split("_", 2)[2:] == [abi])
    ]


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def retag(
    filename_platforms: Sequence[str],
    wheel_tags: Sequence[str],
    platforms: Sequence[str],
    remove: Sequence[str] | None = None,
) -> Retag:
    """New tags after adding ``platforms`` (policy name first, then aliases). ``remove``
    defaults to :func:`replaced_platforms` of ``platforms[0]``."""
    if not platforms:
        raise ValueError("retag needs at least one platform tag")
    original = sorted(set(filename_platforms))
    android = _android_replaced(platforms[0], [*original, *(t.split("-")[-1] for t in wheel_tags)])
    if remove is None and android is not None:
        remove = [t for t in android if t not in platforms]
    to_remove = list(replaced_platforms(platforms[0]) if remove is None else remove)
    names = _unique([tag for tag in original if tag not in to_remove] + list(platforms))
    platlib = False
    if "any" in names and len(names) > 1:
        names.remove("any")
        to_remove.append("any")
        platlib = True
    pyc_apis = _unique("-".join(tag.split("-")[:2]) for tag in wheel_tags)
    wanted = [f"{pair}-{plat}" for pair in pyc_apis for plat in platforms]
    unwanted = {f"{pair}-{plat}" for pair in pyc_apis for plat in to_remove}
    kept = [tag for tag in wheel_tags if tag not in unwanted]
    updated = kept + [tag for tag in wanted if tag not in wheel_tags]
    return Retag(platform_tags=tuple(sorted(names)), wheel_tags=tuple(updated), platlib=platlib)
