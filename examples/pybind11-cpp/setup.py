"""A pybind11 extension built by setuptools: C++17, the standard library, an exception."""

from pybind11.setup_helpers import Pybind11Extension
from setuptools import setup

setup(
    ext_modules=[
        Pybind11Extension("pbdemo", ["src/pbdemo.cpp"], cxx_std=17),
    ]
)
