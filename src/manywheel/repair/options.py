"""What a repair is asked to do (auditwheel's ``repair`` options)."""

from __future__ import annotations

from manywheel.values import value_class

__all__ = ["RepairOptions", "UserLicense", "WheelProvided"]


@value_class
class WheelProvided:
    """Libraries another wheel provides: those whose soname matches ``pattern`` are installed by
    the distribution ``distribution`` at ``<site-packages>/<directory>`` (``nvidia/cublas/lib``).
    They are not grafted; the files that need them get an ``$ORIGIN``-relative RPATH there."""

    pattern: str
    distribution: str
    directory: str

    @classmethod
    def parse(cls, text: str) -> WheelProvided:
        """``GLOB=DIST:DIR``, e.g. ``libcublas.so.*=nvidia-cublas-cu12:nvidia/cublas/lib``."""
        pattern, sep, rest = text.partition("=")
        distribution, sep2, directory = rest.partition(":")
        directory = directory.strip("/")
        if not (sep and sep2 and pattern and distribution and directory) or ".." in directory:
            raise ValueError(f"expected GLOB=DIST:DIR (a relative directory), not {text!r}")
        return cls(pattern, distribution, directory)


@value_class
class UserLicense:
    """``--license-file GLOB=PATH``: the license text of the grafted libraries whose soname or
    path matches ``pattern`` (a library the user built, which no package owns)."""

    pattern: str
    path: str

    @classmethod
    def parse(cls, text: str) -> UserLicense:
        pattern, sep, path = text.partition("=")
        if not (sep and pattern and path):
            raise ValueError(f"expected GLOB=PATH (a library and its license file), not {text!r}")
        return cls(pattern, path)


@value_class
class RepairOptions:
    #: ``auto`` (the best the wheel can have), a policy name or alias, or a platform tag.
    plat: str = "auto"
    #: Suffix of the directory grafted libraries go to: ``<dist name><lib_sdir>``.
    lib_sdir: str = ".libs"
    #: Globs; a library whose soname or resolved path matches one is not grafted.
    exclude: tuple[str, ...] = ()
    #: Claim only the requested policy, not a better one the wheel also satisfies.
    only_plat: bool = False
    update_tags: bool = True
    strip: bool = False
    compress_level: int = 6
    source_date_epoch: int | None = None
    #: Remove RPATH/RUNPATH entries that lead outside the wheel (a build machine's paths) from
    #: every ELF file, not only from those a graft patches (auditwheel does only the latter).
    clean_rpaths: bool = True
    #: Globs of RPATH/RUNPATH entries (as written) to keep even though they lead outside.
    keep_rpaths: tuple[str, ...] = ()
    #: Libraries other wheels provide (``--from-wheel``).
    from_wheels: tuple[WheelProvided, ...] = ()
    #: Refuse a wheel whose Python tag is broken (``False`` is ``--no-abi-check``).
    abi_check: bool = True
    #: License texts for grafted libraries no package owns (``--license-file``).
    license_files: tuple[UserLicense, ...] = ()
