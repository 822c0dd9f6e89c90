"""The sync's progress bars (``cli_progress.py``): drawn on a terminal at a few redraws a
second, not rendered at all where the output is a pipe or a file (docs/benchmarks.md,
session 19: each redraw ran on the syncing process's busy thread)."""

from __future__ import annotations

import io
import threading
import time

from rich.console import Console
from rich.live import _RefreshThread

from iptvsync.cli_progress import REFRESHES_PER_S, SyncProgress

RUN = {
    "id": 7,
    "status": "succeeded",
    "requests": 12,
    "phase": "walking vod",
    "progress": {
        "done_items": 1400,
        "total_items": 2800,
        "items_per_s": 700.0,
        "done_pages": 100,
        "total_pages": 200,
    },
    "counts": {"movies": {"added": 1400, "updated": 0, "unchanged": 0, "removed": 0}},
    "warnings": [],
    "error": None,
}


def _refreshers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if isinstance(t, _RefreshThread)]


def test_a_terminal_gets_live_bars_at_a_few_redraws_a_second() -> None:
    out = io.StringIO()
    view = SyncProgress(Console(file=out, force_terminal=True, width=120))
    with view:
        view.update(RUN)
        (refresher,) = _refreshers()
        assert refresher.refresh_per_second == REFRESHES_PER_S == 4
        time.sleep(0.3)
    text = out.getvalue()
    assert "walking vod" in text and "1400/2800" in text and "100/200" in text


def test_a_pipe_gets_no_bars_only_the_summary() -> None:
    out = io.StringIO()
    view = SyncProgress(Console(file=out, width=120))  # a StringIO is not a terminal
    with view:
        view.update(RUN)
        assert _refreshers() == []
        time.sleep(0.3)
    assert out.getvalue() == ""
    view.summary(RUN)
    text = out.getvalue()
    assert "run 7: succeeded" in text and "1,400" in text
    assert "walking vod" not in text
