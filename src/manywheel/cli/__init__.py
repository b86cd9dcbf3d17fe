"""The command line: parse, call the library once, render, return an exit code.

Nothing else in manywheel imports this package. Environment variables and the host's facts are
read here and passed down as arguments.
"""

from manywheel.cli.main import main, run

__all__ = ["main", "run"]
