"""Builds iptvsync's compiled twins where a C compiler is found (``src/iptvsync/speedups.py``).

Everything else about the package is in pyproject.toml. A twin that cannot be built is no
error: pip's log says why, and the plain Python function it doubles runs instead.
"""

from __future__ import annotations

from typing import Any

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

#: Each compiled twin: its module, and its Cython source.
TWINS = {
    "iptvsync.providers.stalker.parse.vod_compiled": (
        "src/iptvsync/providers/stalker/parse/vod_compiled.pyx"
    ),
}


class OptionalBuildExt(build_ext):
    """build_ext that warns instead of failing: no compiler, no Python headers."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # any failure means "no twin"
            self.warn(f"iptvsync: compiled twins not built ({exc}); the plain path runs")

    def build_extension(self, ext: Any) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            self.warn(f"iptvsync: {ext.name} not built ({exc}); the plain path runs")


def extensions() -> list[Extension]:
    try:
        from Cython.Build import cythonize
    except ImportError:
        return []
    modules = [Extension(name, [source]) for name, source in TWINS.items()]
    return list(cythonize(modules, compiler_directives={"language_level": "3"}, quiet=True))


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
