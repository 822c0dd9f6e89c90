"""bench/_rss.py's ``running_children``, what the benchmarks' process-tree memory sums: a child
that runs a program of its own counts; a child still a copy of its parent (forked, not yet
exec'd: the same command line, the same pages) does not, or the tree's peak would count the
parent's memory twice."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
from bench._rss import running_children


def test_a_forked_copy_is_not_counted_and_an_exec_child_is() -> None:
    me = psutil.Process()
    helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    copy = os.fork()
    if copy == 0:  # the copy: the parent's command line and pages, until it is killed
        time.sleep(30)
        os._exit(0)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the helper's exec may take a moment
            if helper.pid in {c.pid for c in running_children(me)}:
                break
            time.sleep(0.01)
        children = {c.pid for c in me.children(recursive=True)}
        assert {helper.pid, copy} <= children
        running = {c.pid for c in running_children(me)}
        assert helper.pid in running
        assert copy not in running
    finally:
        helper.kill()
        helper.wait()
        os.kill(copy, 9)
        os.waitpid(copy, 0)
