"""A meson-python example: zlib's crc32 through a C extension."""

from mesondemo._mesondemo import crc32

__all__ = ["crc32"]
