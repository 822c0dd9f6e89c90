"""Temporary files of a sync (a downloaded playlist, its index): one directory, named by
process, so that nothing outlives its run.

A file is deleted by its owner when the run ends (``M3uClient.aclose``), when its owner is
collected, or at interpreter exit; a process killed with SIGKILL gets none of those, so the
first spool file of the next process (and ``sweep_leftovers`` at start-up) deletes every file
whose process is gone.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

_swept = False


def spool_dir() -> Path:
    path = Path(tempfile.gettempdir()) / f"iptvsync-spool-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def new_spool(prefix: str, suffix: str) -> tuple[int, Path]:
    """An open file descriptor and the path of a new spool file of this process."""
    global _swept
    if not _swept:
        _swept = True
        sweep_leftovers()
    fd, name = tempfile.mkstemp(prefix=f"{prefix}{os.getpid()}-", suffix=suffix, dir=spool_dir())
    return fd, Path(name)


def sweep_leftovers() -> int:
    """Delete spool files of processes that no longer run; how many were deleted."""
    removed = 0
    for path in spool_dir().iterdir():
        pid = _owner(path.name)
        if pid is None or pid == os.getpid() or _alive(pid):
            continue
        with contextlib.suppress(OSError):
            path.unlink()
            removed += 1
    return removed


def _owner(name: str) -> int | None:
    # "<prefix><pid>-<random><suffix>": the pid is the last all-digit field before the random
    for part in reversed(name.split("-")[:-1]):
        if part.isdigit():
            return int(part)
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
