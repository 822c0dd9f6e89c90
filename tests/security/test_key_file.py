"""The file key (``<data_dir>/secret.key``, docs/security.md): processes started at once on a
fresh data dir (a replica and its workers, bench/scale.py's two workers) agree on one key, and
none of them ever works with an empty one."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from iptvsync.secret_key import KEY_BYTES, _load_or_create


def _key_of(path: str, out: multiprocessing.Queue[str]) -> None:
    out.put(_load_or_create(Path(path)).hex())


def test_processes_starting_at_once_agree_on_one_full_key(tmp_path: Path) -> None:
    # Before the key was linked into place whole, about one round in ten gave a process the
    # empty key (it read the file between its creation and its write).
    ctx = multiprocessing.get_context("fork")
    for n in range(80):
        path = str(tmp_path / f"data{n}" / "secret.key")
        out: multiprocessing.Queue[str] = ctx.Queue()
        procs = [ctx.Process(target=_key_of, args=(path, out)) for _ in range(3)]
        for proc in procs:
            proc.start()
        keys = {out.get(timeout=30) for _ in procs}
        for proc in procs:
            proc.join(30)
        assert keys == {Path(path).read_text()}, n
        assert len(bytes.fromhex(keys.pop())) == KEY_BYTES
    assert not [p for p in tmp_path.rglob(".secret.key.*")]  # no temporary file left


@pytest.mark.parametrize("text", ["", "abcd"])
def test_a_cut_key_file_is_refused_not_used(tmp_path: Path, text: str) -> None:
    path = tmp_path / "secret.key"
    path.write_text(text)
    with pytest.raises(ValueError, match="32-byte key"):
        _load_or_create(path)
