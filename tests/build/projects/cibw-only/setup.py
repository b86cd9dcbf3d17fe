"""The extension's values come from before-all (generated.h) and from `environment`."""

import os

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "cibwonly._native",
            sources=["src/cibwonly/_native.c"],
            define_macros=[
                ("ANSWER", os.environ["CIBWONLY_ANSWER"]),
                ("FLAVOUR", '"' + os.environ["CIBWONLY_FLAVOUR"] + '"'),
            ],
        )
    ]
)
