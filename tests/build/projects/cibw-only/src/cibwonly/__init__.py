"""The values the build baked in."""

from cibwonly._native import answer, flavour, generated

__all__ = ["answer", "flavour", "generated"]
