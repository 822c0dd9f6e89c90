"""The playlist index cut into parts indexed by child processes gives what one pass gives.

The children are real processes (the workers of a ``ProcessPoolExecutor``); parts are forced
small so that the test playlists (a few hundred KB) are cut several ways.
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from iptvsync.errors import ProviderBadResponse
from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.m3u import FakeM3uProvider, M3uFakeConfig, playlist_lines
from iptvsync.providers.base import ProviderConfig
from iptvsync.providers.http import build_http_client
from iptvsync.providers.m3u import client as m3u_client
from iptvsync.providers.m3u import index as m3u_index
from iptvsync.providers.m3u.client import M3uClient
from iptvsync.providers.spool import spool_dir
from iptvsync.records import Kind, Page, Scope

SECRETS = ("u", "p")


@pytest.fixture(scope="module")
def playlist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fake's quirky playlist (CRLF/LF mixes, orphans, binary junk, every kind), plus the
    same entries again in other groups at the end: duplicates that land in different parts."""
    catalogue = generate(seed=7, movies=400, series=20, channels=300)
    provider = FakeM3uProvider(catalogue, M3uFakeConfig(playlist="junk"))
    body = b"".join(playlist_lines(provider, "http://m3u.test"))
    again = (
        '#EXTINF:-1 tvg-id="x" group-title="Late Group",Late copy\n'
        "http://m3u.test/u/p/2.ts\n"
        '#EXTINF:-1 group-title="Late Films",Late film (2001)\n'
        "http://m3u.test/movie/u/p/1.mkv\n"
    )
    path = tmp_path_factory.mktemp("m3u") / "list.m3u"
    path.write_bytes(body + again.encode())
    return path


async def _walk_all(client: M3uClient) -> dict[str, Any]:
    pages: dict[str, list[Any]] = {}

    async def on_page(page: Page) -> bool:
        pages.setdefault(page.stream, []).extend(page.records)
        return True

    categories = {kind: await client.categories(kind) for kind in Kind}
    for scope in (Scope.CHANNELS, Scope.VOD):
        result = await client.walk(scope, on_page)
        assert result.complete
    return {
        "categories": categories,
        # The engine keeps the last copy of an id in a batch: compare what it would store.
        "stored": {s: {r.provider_item_id: r for r in records} for s, records in pages.items()},
        "stats": client.parse_stats,
        "header": client.header,
    }


async def _index_with(
    playlist: Path, monkeypatch: pytest.MonkeyPatch, **options: Any
) -> tuple[dict[str, Any], int]:
    built: list[m3u_index.Index] = []

    async def build(*args: Any, **kwargs: Any) -> m3u_index.Index:
        index = await m3u_index.build_index(*args, **kwargs, **options)
        built.append(index)
        return index

    monkeypatch.setattr(m3u_client, "build_index", build)
    client = M3uClient(
        ProviderConfig(kind="m3u", url=str(playlist), username="u", password="p"),
        build_http_client(),
    )
    try:
        return await _walk_all(client), built[0].parts
    finally:
        await client.aclose()


@pytest.mark.parametrize("parts", [2, 3, 5])
async def test_parts_in_children_index_as_one_pass(
    playlist: Path, monkeypatch: pytest.MonkeyPatch, parts: int
) -> None:
    single, one = await _index_with(playlist, monkeypatch, parts=1)
    split, used = await _index_with(playlist, monkeypatch, parts=parts, min_part_bytes=1)
    assert one == 1
    assert used == parts
    assert split["categories"] == single["categories"]
    assert split["stored"] == single["stored"]
    assert split["stats"] == single["stats"] and single["stats"]["orphans"] > 0
    assert split["header"] == single["header"] and single["header"].guide_urls
    # The late copies merged their groups into the first copies, across parts too.
    late = [r for r in split["stored"]["live"].values() if "Late Group" in r.category_ids]
    assert len(late) == 1 and len(late[0].category_ids) == 2


def test_cuts_fall_after_url_lines(playlist: Path) -> None:
    body = playlist.read_bytes()
    bounds = m3u_index._part_bounds(playlist, body[:100], 1, 40)
    assert len(bounds) > 30 and bounds == sorted(set(bounds))
    for cut in bounds[1:-1]:
        assert body[cut - 1 : cut] == b"\n"
        line = body[: cut - 1].rsplit(b"\n", 1)[-1]
        assert m3u_index._URL_LINE.match(line), line


def test_compressed_or_small_files_are_one_part(tmp_path: Path) -> None:
    gz = tmp_path / "list.m3u.gz"
    gz.write_bytes(b"\x1f\x8b" + b"\x00" * 1000)
    assert m3u_index._part_bounds(gz, gz.read_bytes(), 1, 4) == [0, 1002]
    small = tmp_path / "small.m3u"
    small.write_text("#EXTM3U\n#EXTINF:-1,A\nhttp://h/1.ts\n" * 10)
    size = small.stat().st_size
    assert m3u_index._part_bounds(small, b"#EXTM3U", 1 << 20, 4) == [0, size]
    # No line break to cut at (a CR-only playlist): one part.
    cr = tmp_path / "cr.m3u"
    cr.write_bytes(b"#EXTM3U\r#EXTINF:-1,A\rhttp://h/1.ts\r" * 100)
    assert m3u_index._part_bounds(cr, b"#EXTM3U", 1, 4) == [0, cr.stat().st_size]


def _no_process(workers: int) -> Any:
    raise OSError("no process can be started here")


@pytest.mark.parametrize("failure", ["no_process", "worker_fails", "wrong_answer"])
async def test_a_failed_child_falls_back_to_one_pass(
    playlist: Path, monkeypatch: pytest.MonkeyPatch, failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    single, _ = await _index_with(playlist, monkeypatch, parts=1)
    if failure == "no_process":
        monkeypatch.setattr(m3u_index, "_pool", _no_process)
    elif failure == "worker_fails":  # the worker raises (json.loads of a dict: TypeError)
        monkeypatch.setattr(m3u_index, "_WORKER", json.loads)
    else:  # the worker answers something else: dict(job) echoes the job back
        monkeypatch.setattr(m3u_index, "_WORKER", dict)
    got, used = await _index_with(playlist, monkeypatch, parts=3, min_part_bytes=1)
    assert used == 1
    assert got == single
    assert "indexing" in caplog.text


def _index_files() -> set[Path]:
    return set(spool_dir().glob("iptvsync-m3u-*"))


async def test_a_cancelled_pass_stops_its_workers_and_leaves_no_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, own_spool: Path
) -> None:
    # own_spool: other xdist workers' index files come and go in the shared spool folder.
    # Big enough that the workers are still at work when the pass is cancelled.
    entry = '#EXTINF:-1 group-title="G{0}",Channel {0}\nhttp://h/live/u/p/{0}.ts?token=abc\n'
    path = tmp_path / "big.m3u"
    with path.open("w") as out:
        out.write("#EXTM3U\n")
        for n in range(300_000):
            out.write(entry.format(n))
    pools: list[Any] = []
    make_pool = m3u_index._pool

    def recorded(workers: int) -> Any:
        pool = make_pool(workers)
        pools.append(pool)
        return pool

    monkeypatch.setattr(m3u_index, "_pool", recorded)
    before = _index_files()
    read = functools.partial(m3u_client._read_file)
    task = asyncio.create_task(
        m3u_index.build_index(path, ("x", 0, 0), ("sekrit",), read=read, parts=2, min_part_bytes=1)
    )
    while not any(f.stat().st_size > 0 for f in _index_files() - before):
        await asyncio.sleep(0.01)  # until a worker is at work: it wrote a chunk of its part
    workers = _pool_workers()
    assert len(workers) == 2
    command_lines = [" ".join(w.cmdline()) for w in workers]
    assert not task.done(), "still at work when cancelled"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Each worker dropped its part (it saw the stop flag), none finished it; all are gone.
    futures = pools[0].futures
    assert len(futures) == 2 and all(f.done() for f in futures)
    assert all(isinstance(f.exception(), m3u_index._Stopped) for f in futures), futures
    assert not any(w.is_running() for w in workers)
    assert _index_files() == before
    # Credentials travel through the pool's pipe, never on a command line.
    assert all(line and "sekrit" not in line for line in command_lines)


def _pool_workers() -> list[Any]:
    """This process's children that are pool workers (not Multiprocessing's resource
    tracker)."""
    import psutil

    return [
        child
        for child in psutil.Process().children()
        if any("spawn_main" in part for part in child.cmdline())
    ]


def test_a_worker_stops_before_touching_its_files_once_the_pool_is_closed(
    playlist: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker that takes a part after the pool is closed leaves its files alone: the caller
    # may have removed them already.
    stop = threading.Event()
    monkeypatch.setattr(m3u_index, "_STOP", stop)
    files = {name: tmp_path / f"{name}.pickle" for name in m3u_index.STREAMS}
    job = {
        "path": str(playlist),
        "start": 0,
        "end": playlist.stat().st_size,
        "files": {name: str(p) for name, p in files.items()},
        "secrets": [],
    }
    assert isinstance(m3u_index._index_part(job), m3u_index.PassResult)
    for path in files.values():
        path.unlink()
    stop.set()
    with pytest.raises(m3u_index._Stopped):
        m3u_index._index_part(job)
    assert not any(path.exists() for path in files.values())


async def test_not_a_playlist_is_refused_whatever_the_parts(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just some text\n" * 5000)
    for parts in (1, 3):
        with pytest.raises(ProviderBadResponse, match="not an M3U playlist"):
            await m3u_index.build_index(
                path, ("x", 0, 0), (), read=m3u_client._read_file, parts=parts, min_part_bytes=1
            )
