"""Peak RSS of the running process, sampled.

``resource.getrusage(RUSAGE_SELF).ru_maxrss`` is not enough for a child started by a benchmark:
on Linux it survives ``fork``/``exec`` and so includes the parent's RSS at the fork (a parent
that had just generated a 1M-line playlist made every child look 160 MB large). A thread
samples the current RSS instead.

Helper processes the code under test starts (the M3U index's children) are sampled too, every
tenth sample: ``peak_with_children_mb`` is the most the process and its children held at once.
A child between its fork and its exec is not counted (``running_children``).
"""

from __future__ import annotations

import contextlib
import os
import threading
from types import TracebackType

import psutil


def _child_pids(pid: int) -> list[int]:
    """``pid``'s children, from each of its threads' ``/proc/<pid>/task/<tid>/children``
    (~0.1 ms); psutil's way reads every process's ``stat`` on the machine (~0.6 ms), which a
    sampler asking 100 times a second made 6 % of a core on the machine it measures."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{tid}/children") as listed:
            found.extend(int(child) for child in listed.read().split())
    return found


def running_children(process: psutil.Process) -> list[psutil.Process]:
    """``process``'s children (recursively) that run a program of their own. A child between
    its fork and its exec (still its parent's command line) shares its parent's pages (with
    vfork, the very same memory): its RSS only repeats the parent's, and summed with it, a
    sync's tree looked 171 MB for the millisecond a helper process took to start (session 18,
    docs/benchmarks.md). This project's children all exec (``spawn``, ``subprocess``)."""
    if not os.path.exists(f"/proc/{process.pid}/task"):  # not Linux: psutil's own walk
        pairs = [(c, c.parent()) for c in process.children(recursive=True)]
    else:
        pairs = []
        parents = [process]
        while parents:
            parent = parents.pop()
            for pid in _child_pids(parent.pid):
                with contextlib.suppress(psutil.Error):
                    child = psutil.Process(pid)
                    pairs.append((child, parent))
                    parents.append(child)
    running = []
    for child, parent in pairs:
        with contextlib.suppress(psutil.Error, AttributeError):
            if child.cmdline() != parent.cmdline():
                running.append(child)
    return running


class PeakRss:
    """``with PeakRss() as rss: ...`` then ``rss.peak_mb`` (sampled every ``every_s``)."""

    def __init__(self, every_s: float = 0.01) -> None:
        self._process = psutil.Process()
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.start_mb = self.now_mb()
        self.peak_mb = self.start_mb
        self.peak_with_children_mb = self.start_mb

    def now_mb(self) -> float:
        return float(self._process.memory_info().rss) / (1 << 20)

    def with_children_mb(self) -> float:
        total = self._process.memory_info().rss
        for child in running_children(self._process):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        return float(total) / (1 << 20)

    def _run(self) -> None:
        ticks = 0
        while not self._stop.wait(self._every_s):
            self.peak_mb = max(self.peak_mb, self.now_mb())
            ticks += 1
            if ticks % 10 == 0:
                both = self.with_children_mb()
                self.peak_with_children_mb = max(self.peak_with_children_mb, both)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self.now_mb())
        self.peak_with_children_mb = max(self.peak_with_children_mb, self.peak_mb)
