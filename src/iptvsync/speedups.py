"""Compiled twins: a few hot functions also written in Cython, used where they are built.

A first sync of a large catalogue is CPU-bound in one interpreter (docs/benchmarks.md, issue
21), and the VOD parse runs on the walk's event loop for every one of its 100k+ rows: each
microsecond there is a tenth of a second of a sync, and it delays every answer in flight. So
the parse of a VOD row also exists as Cython (``providers/stalker/parse/vod_compiled.pyx``),
built by ``pip install`` (``setup.py``) where a C compiler is found.

The rules for a twin:

- the plain Python function stays the reference, and the one that runs anywhere the twin is
  not built (no compiler: ``setup.py`` then skips it) or is switched off;
- the twin reads the common case of each value itself and hands anything else to the plain
  path's own helpers, so an odd value is read by one rule only;
- a test holds the two to the same answers (Hypothesis and the fake portals' pages), and
  another fails when the built twin is older than its source (rebuild: ``scripts/install.sh``).

``IPTVSYNC_COMPILED=0`` in the environment switches every twin off (the benchmarks compare the
two paths in one checkout that way).
"""

from __future__ import annotations

import importlib
import os
from typing import TypeVar

F = TypeVar("F")


def enabled() -> bool:
    """Whether compiled twins may be used (``IPTVSYNC_COMPILED`` is not ``0``)."""
    return os.environ.get("IPTVSYNC_COMPILED", "1").strip() != "0"


def compiled_twin(module: str, name: str, plain: F) -> F:
    """``module.name`` where that module is built and twins are enabled, else ``plain``."""
    if not enabled():
        return plain
    try:
        built = importlib.import_module(module)
    except ImportError:
        return plain
    twin: F = getattr(built, name)
    return twin
