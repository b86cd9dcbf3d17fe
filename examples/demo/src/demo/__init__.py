"""An example package whose extension links libdemo (built by the example) and zlib."""

from demo._demo import compressed_size, greeting

__all__ = ["compressed_size", "greeting"]
