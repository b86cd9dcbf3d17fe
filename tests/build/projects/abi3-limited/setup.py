"""One C extension on the Stable ABI of CPython 3.11 (``Py_LIMITED_API``): its wheel is tagged
``cp311-abi3`` whichever CPython >= 3.11 builds it, so a run reuses the first one."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "limited",
            ["src/limited.c"],
            py_limited_api=True,
            define_macros=[("Py_LIMITED_API", "0x030B0000")],
        )
    ],
    options={"bdist_wheel": {"py_limited_api": "cp311"}},
)
