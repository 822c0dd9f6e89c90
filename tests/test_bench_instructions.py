"""bench/sync_instructions.py's ``totals``: a first sync's callgrind run writes one file for
each process it traced (the CLI, its write process, since session 18 the index build), and
each count goes to its own process's key whatever order the files are read in."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.sync_instructions import totals

FILES = {
    "101": ("cmd: /venv/bin/python -m iptvsync sync b", 4_590_401_757),
    "102": ("cmd: /venv/bin/python -m iptvsync.sync.write_child 10 13", 1_198_264_060),
    "103": ("cmd: /venv/bin/python -I -S /src/iptvsync/store/index_build.py /d/x.db", 340_396_499),
}


@pytest.mark.parametrize("order", [("101", "102", "103"), ("103", "102", "101")])
def test_each_process_counts_under_its_own_key(tmp_path: Path, order: tuple[str, ...]) -> None:
    for pid in order:  # written in this order: the glob's order follows the directory's
        cmd, total = FILES[pid]
        (tmp_path / f"sync.{pid}").write_text(f"version: 1\n{cmd}\nevents: Ir\ntotals: {total}\n")
    found = totals(str(tmp_path / "sync"))
    assert found == {"main": 4_590_401_757, "child": 1_198_264_060, "indexes": 340_396_499}
