"""The test-command: import the extension with the Python under test and say which one; it
refuses Python 3.13 on purpose (a reused wheel whose test fails on a later Python)."""

import sys

import limited

major, minor = sys.version_info[:2]
print(f"limited.answer() = {limited.answer()} on Python {major}.{minor}")
assert limited.answer() == 42
if sys.version_info[:2] == (3, 13):
    sys.exit("abi3-limited: this test refuses Python 3.13")
