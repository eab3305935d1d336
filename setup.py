"""Map the repository's top-level folders onto the ``snnc`` import namespace.

The repository root is the ``snnc`` package (its ``__init__.py`` is the public
API); ``compiler/``, ``frontends/``, ``runtime/`` and ``hardware_profiles/``
become ``snnc.compiler``, ``snnc.frontends``, ... so no bare top-level
``compiler`` or ``runtime`` package is ever installed.
"""
from setuptools import find_packages, setup

TOP = ["cli", "compiler", "frontends", "runtime", "hardware_profiles"]
subpackages = find_packages(where=".", include=[f"{t}*" for t in TOP])

setup(
    packages=["snnc"] + [f"snnc.{p}" for p in subpackages],
    package_dir={"snnc": "."},
    package_data={"snnc.hardware_profiles": ["*.toml"], "snnc": ["examples/*.onnx", "examples/*.json"]},
    include_package_data=False,
)
