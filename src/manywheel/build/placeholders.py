"""cibuildwheel's placeholders in commands: ``{project}``, ``{package}``, ``{wheel}`` in test
commands, ``{wheel}`` and ``{dest_dir}`` in the repair command."""

from __future__ import annotations

__all__ = ["fill_placeholders"]


def fill_placeholders(command: str, **values: str) -> str:
    """Replace each ``{name}`` of ``values`` in ``command`` by its value, as it is (cibuildwheel
    does not quote them either), and nothing else: braces of the shell (``${HOME}``) or of
    Python code (``{1: 2}``) stay as they are."""
    for key, value in values.items():
        command = command.replace("{" + key + "}", value)
    return command
