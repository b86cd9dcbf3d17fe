"""A C extension whose build fails on Python 3.10 only (the failure-isolation test)."""

import platform
import sys

from setuptools import Extension, setup

if platform.python_version_tuple()[:2] == ("3", "10"):
    sys.exit("fails-on-310: this project refuses to build on Python 3.10")
setup(ext_modules=[Extension("tiny", ["src/tiny.c"])])
