"""Run ``iptvsync ARGS`` in this process with its politeness budget sampled every 10 ms
(``bench/walk_trace.py`` starts it): requests in flight and the limit, written as JSON to the
file ``WALK_TRACE_OUT`` names when the process exits."""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
import time

from iptvsync.providers import budget

budgets: list[budget.PolitenessBudget] = []
samples: list[tuple[float, int, int]] = []
started = time.monotonic()
_init = budget.PolitenessBudget.__init__


def _registered(self: budget.PolitenessBudget, *args: object, **kwargs: object) -> None:
    _init(self, *args, **kwargs)  # type: ignore[arg-type]
    budgets.append(self)


def _sample() -> None:
    while True:
        time.sleep(0.01)
        if budgets:
            last = budgets[-1]
            samples.append((round(time.monotonic() - started, 3), last.in_flight, last.limit))


def _dump() -> None:
    with open(os.environ["WALK_TRACE_OUT"], "w") as out:
        json.dump(samples, out)


budget.PolitenessBudget.__init__ = _registered  # type: ignore[method-assign]
threading.Thread(target=_sample, daemon=True).start()
atexit.register(_dump)

from iptvsync.cli import main  # noqa: E402  (after the budget is watched)

sys.argv = ["iptvsync", *sys.argv[1:]]
main()
