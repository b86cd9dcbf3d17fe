"""The extension links libdemo from $DEMO_LIB_DIR (built by build-libdemo.sh) and zlib."""

import os

from setuptools import Extension, setup

lib_dir = os.environ.get("DEMO_LIB_DIR", "build/libdemo")
setup(
    ext_modules=[
        Extension(
            "demo._demo",
            sources=["src/demo/_demo.c"],
            include_dirs=["libdemo"],
            library_dirs=[lib_dir],
            libraries=["demo", "z"],
        )
    ]
)
