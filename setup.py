"""Build step that pyproject.toml cannot express: ship the demo's sample sites with the package.

The repository keeps the sample documentation sites under fixtures/sites/ (the tests serve them
from there, next to the rest of the test fixtures), but `fixtures` is the name of a well-known
testing library: installing a top-level package of that name would shadow it. So the wheel gets
the two site versions as package data of `knowledge`, in knowledge/demo_sites/v1 and v2, copied
at build time; `collector demo` reads them from there (or from fixtures/sites in a checkout or an
editable install). Everything else about the build is in pyproject.toml.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SITES = Path(__file__).resolve().parent / "fixtures" / "sites"
VERSIONS = ("v1", "v2")


class BuildWithDemoSites(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return   # an editable install reads the sites from the checkout
        target = Path(self.build_lib) / "knowledge" / "demo_sites"
        for version in VERSIONS:
            shutil.copytree(SITES / version, target / version, dirs_exist_ok=True)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        target = Path(self.build_lib) / "knowledge" / "demo_sites"
        return outputs + [str(target / p.relative_to(SITES)) for v in VERSIONS
                          for p in sorted((SITES / v).rglob("*")) if p.is_file()]


setup(cmdclass={"build_py": BuildWithDemoSites})
