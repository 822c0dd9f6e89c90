"""The index of a playlist file: one pass that serves a sync's categories and walks.

A sync asks for the categories of each kind and walks each scope; on a 1M-line playlist each
pass over the file costs seconds, so the file is read once. The pass classifies every entry,
builds its walk item (a series once per episode: the walk lists series), de-duplicates each
stream and keeps what remains on disk (a few MB, pickled chunks of field tuples), for the walks
to replay. Memory stays flat: a chunk of each stream at a time.

The pass is CPU-bound Python. A large plain-text file is cut into parts at entry boundaries
(right after a URL line, where the parser holds no state) and each part is indexed by a worker
of a ``ProcessPoolExecutor``, side by side on the machine's cores; the
parts' results are joined in file order. The index is then the one a single pass builds, up to
where a duplicate seen by two parts is merged: the walk's own de-duplication (``PageBuilder``)
merges it there, into the same record. Small, compressed or unsplittable files, and any child
that fails, are indexed in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import multiprocessing
import operator
import os
import pickle
import re
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from iptvsync.errors import ProviderBadResponse, ProviderUnreachable
from iptvsync.providers.m3u.entries import (
    EntryKind,
    EpisodeEntry,
    classify,
    groups_of,
    series_record,
    to_record,
)
from iptvsync.providers.m3u.parse import NOT_A_PLAYLIST, EntryReader, M3uEntry, sniff_error
from iptvsync.providers.pages import Deduper, looks_adult
from iptvsync.providers.spool import new_spool
from iptvsync.providers.xmltv import GZIP_MAGIC, XZ_MAGIC
from iptvsync.records import CategoryRecord, ChannelRecord, Kind, MovieRecord, SeriesRecord

log = logging.getLogger("iptvsync.m3u")

READ_CHUNK = 1 << 18
SNIFF_BYTES = 32_768
#: Below this many bytes a part is not worth a process (~0.2 s to start one).
MIN_PART_BYTES = 16 << 20
#: How far past a cut point a part boundary (the end of a URL line) is looked for.
_BOUNDARY_WINDOW = 1 << 20
#: A URL line the parser takes as an entry's end whatever came before it (no control
#: characters, not over-long, no replacement character).
_URL_LINE = re.compile(rb"[A-Za-z][A-Za-z0-9+.\-]*://[^\x00-\x1f]*\r?$")
_MAX_BOUNDARY_LINE = 8192

STREAMS = ("live", "vod", "series")
#: The record type of each stream, and how one becomes a tuple of its fields (in order).
_RECORD_OF: dict[str, type[ChannelRecord | MovieRecord | SeriesRecord]] = {
    "live": ChannelRecord,
    "vod": MovieRecord,
    "series": SeriesRecord,
}
_FIELDS_OF = {
    name: operator.attrgetter(*(f.name for f in dataclasses.fields(record)))
    for name, record in _RECORD_OF.items()
}
#: The walk's stream of each entry kind.
_STREAM_NAME = {
    EntryKind.CHANNEL: "live",
    EntryKind.RADIO: "live",
    EntryKind.MOVIE: "vod",
    EntryKind.EPISODE: "series",
}
_KIND_OF = {
    EntryKind.CHANNEL: Kind.CHANNEL,
    EntryKind.RADIO: Kind.CHANNEL,
    EntryKind.MOVIE: Kind.MOVIE,
    EntryKind.EPISODE: Kind.SERIES,
}


@dataclass
class PassResult:
    """What a pass over a file (or one part of it) found, besides the items it wrote."""

    #: Group titles of each kind, in the order they first appear.
    groups: dict[Kind, list[str]] = field(default_factory=lambda: {k: [] for k in Kind})
    #: ``entries``, ``orphans`` (#EXTINF lines without a URL) and ``junk`` lines.
    stats: dict[str, int] = field(default_factory=dict)
    #: The ``#EXTM3U`` attributes (None: no header line in this part).
    header: dict[str, str] | None = None
    saw_content: bool = False


class _Pass:
    """Feed the bytes of a playlist, or of a part of one that starts at an entry boundary;
    each stream's de-duplicated walk items go to its file as pickled chunks of tuples."""

    CHUNK = 1000

    def __init__(self, files: dict[str, Path], secrets: tuple[str, ...], *, at_start: bool):
        self._secrets = secrets
        self._reader = EntryReader(at_start=at_start)
        self._dedupe = {name: Deduper() for name in STREAMS}
        self._groups: dict[Kind, dict[str, None]] = {k: {} for k in Kind}
        self._buffers: dict[str, list[tuple[Any, ...]]] = {name: [] for name in STREAMS}
        self._outs: dict[str, BinaryIO] = {name: files[name].open("wb") for name in STREAMS}

    def feed(self, chunk: bytes) -> None:
        for entry in self._reader.feed(chunk):
            self._add(entry)

    def finish(self) -> PassResult:
        try:
            for entry in self._reader.close():
                self._add(entry)
            for name, out in self._outs.items():
                if self._buffers[name]:
                    pickle.dump(self._buffers[name], out, protocol=pickle.HIGHEST_PROTOCOL)
        finally:
            self.abort()
        parser = self._reader.parser
        return PassResult(
            groups={k: list(v) for k, v in self._groups.items()},
            stats=self._reader.stats,
            header=parser.header.attrs if parser.header is not None else None,
            saw_content=parser.saw_content,
        )

    def abort(self) -> None:
        for out in self._outs.values():
            out.close()

    def _add(self, entry: M3uEntry) -> None:
        entry_kind = classify(entry)
        groups = self._groups[_KIND_OF[entry_kind]]
        for title in groups_of(entry):
            groups.setdefault(title)
        item: ChannelRecord | MovieRecord | SeriesRecord
        if entry_kind is EntryKind.EPISODE:
            item = series_record(entry)  # the walk lists series, not episodes
        else:
            record = to_record(entry, self._secrets, entry_kind)
            assert not isinstance(record, EpisodeEntry)
            item = record
        name = _STREAM_NAME[entry_kind]
        accepted = self._dedupe[name].accept(item)
        if accepted is None:
            return
        buffer = self._buffers[name]
        buffer.append(_FIELDS_OF[name](accepted))  # plain tuples pickle 5× faster than records
        if len(buffer) >= self.CHUNK:
            pickle.dump(buffer, self._outs[name], protocol=pickle.HIGHEST_PROTOCOL)
            buffer.clear()


class Index:
    """A playlist's index: the categories of every kind, and each stream's walk items in
    temporary files (one per part and stream; our own files, written and read by this
    process and its children only)."""

    def __init__(self, stamp: tuple[str, int, int]) -> None:
        self.stamp = stamp
        self.categories: dict[Kind, list[CategoryRecord]] = {}
        self.stats: dict[str, int] = {}
        self.header: dict[str, str] | None = None
        self.parts = 0
        self._files: list[dict[str, Path]] = []
        self._paths: list[Path] = []
        # Deleted by ``drop``, or when collected or at exit (a client nobody closed).
        self._finalizer = weakref.finalize(self, _unlink_all, self._paths)

    def files(self) -> list[Path]:
        return list(self._paths)

    def _new_part(self) -> dict[str, Path]:
        files: dict[str, Path] = {}
        for name in STREAMS:
            fd, path = new_spool(f"iptvsync-m3u-{name}-", ".pickle")
            os.close(fd)
            files[name] = path
            self._paths.append(files[name])
        self._files.append(files)
        return files

    def chunks(self, stream: str) -> Iterator[list[Any]]:
        record = _RECORD_OF[stream]
        for files in self._files:
            with files[stream].open("rb") as handle:
                while True:
                    try:
                        values = pickle.load(handle)
                    except EOFError:
                        break
                    yield [record(*v) for v in values]

    def drop(self) -> None:
        self._finalizer()

    def _join(self, results: list[PassResult]) -> None:
        """The parts' results, in file order, as one pass would have found them."""
        for kind in Kind:
            titles = dict.fromkeys(t for result in results for t in result.groups[kind])
            self.categories[kind] = [
                CategoryRecord(kind, title, title, looks_adult(title), position)
                for position, title in enumerate(titles)
            ]
        self.stats = {key: sum(result.stats[key] for result in results) for key in results[0].stats}
        self.header = next((r.header for r in results if r.header is not None), None)
        self.parts = len(results)


def _unlink_all(paths: list[Path]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            os.unlink(path)


async def build_index(
    path: Path,
    stamp: tuple[str, int, int],
    secrets: tuple[str, ...],
    *,
    read: Callable[[Path], AsyncIterator[bytes]],
    min_part_bytes: int = MIN_PART_BYTES,
    parts: int | None = None,
) -> Index:
    """Index ``path`` (see the module docstring); ``read`` streams a file in this process.
    ``parts``: at most this many (default: one per core the process may run on)."""
    index = Index(stamp)
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as exc:
        raise ProviderUnreachable(f"cannot read {path.name}: {exc.strerror}") from exc
    try:
        sniffed = sniff_error(head)
        if sniffed is not None:
            raise sniffed
        bounds = _part_bounds(path, head, min_part_bytes, parts or _cores())
        results = None
        if len(bounds) > 2:
            files = [index._new_part() for _ in bounds[1:]]
            results = await _in_children(path, bounds, files, secrets)
            if results is None:
                index.drop()
                index = Index(stamp)
        if results is None:
            results = [await _in_process(path, index._new_part(), secrets, read)]
        if all(r.header is None and not r.saw_content for r in results):
            raise ProviderBadResponse(NOT_A_PLAYLIST)
        index._join(results)
    except BaseException:
        index.drop()
        raise
    return index


async def _in_process(
    path: Path,
    files: dict[str, Path],
    secrets: tuple[str, ...],
    read: Callable[[Path], AsyncIterator[bytes]],
) -> PassResult:
    one = _Pass(files, secrets, at_start=True)
    try:
        async for chunk in read(path):
            one.feed(chunk)
    except BaseException:
        one.abort()
        raise
    return one.finish()


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _part_bounds(path: Path, head: bytes, min_part_bytes: int, most: int) -> list[int]:
    """Byte offsets that cut ``path`` into parts: ``[0, …, size]``; ``[0, size]`` for one."""
    size = path.stat().st_size
    count = min(most, size // max(min_part_bytes, 1))
    if count < 2 or head.startswith((GZIP_MAGIC, XZ_MAGIC)):
        return [0, size]
    bounds = [0]
    with path.open("rb") as handle:
        for i in range(1, count):
            cut = _boundary_after(handle, size * i // count)
            if cut is not None and bounds[-1] < cut < size:
                bounds.append(cut)
    bounds.append(size)
    return bounds


def _boundary_after(handle: BinaryIO, offset: int) -> int | None:
    """The offset just after the first URL line that starts past ``offset`` (an entry ends
    there and the parser holds no state), or None within the window."""
    handle.seek(offset)
    window = handle.read(_BOUNDARY_WINDOW)
    start = window.find(b"\n") + 1  # the line that ``offset`` falls in belongs to the part before
    if start == 0:
        return None
    while True:
        end = window.find(b"\n", start)
        if end < 0:
            return None
        line = window[start:end]
        if len(line) <= _MAX_BOUNDARY_LINE and _URL_LINE.match(line):
            return offset + end + 1
        start = end + 1


async def _in_children(
    path: Path,
    bounds: list[int],
    parts: list[dict[str, Path]],
    secrets: tuple[str, ...],
) -> list[PassResult] | None:
    """Each part in a worker process (``_pool``); None when one of them failed (the caller
    indexes the file here instead). Workers are stopped if this is cancelled."""
    jobs = [
        {
            "path": str(path),
            "start": bounds[i],
            "end": bounds[i + 1],
            "files": {name: str(p) for name, p in files.items()},
            "secrets": list(secrets),  # pickled through the pool's pipe: never on a command line
        }
        for i, files in enumerate(parts)
    ]
    try:
        pool = _pool(len(jobs))
    except OSError as exc:  # no process can be started: index here
        log.warning("indexing the playlist in one process: %s", exc)
        return None
    answers: list[Any] | None = None
    try:
        answers = await asyncio.gather(*(pool.submit(job) for job in jobs))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a worker raised, died (BrokenProcessPool) or could not start
        log.warning(
            "a playlist indexing process failed (%s: %s); indexing in one process",
            type(exc).__name__,
            str(exc)[:200],
        )
        return None
    finally:
        # Every answer in: the workers are idle. Otherwise (cancelled, or one failed while the
        # others still work) they stop first.
        pool.close(stop=answers is None)
    if not all(isinstance(a, PassResult) for a in answers):
        log.warning("a playlist indexing process answered something else; indexing in one process")
        return None
    return list(answers)


class _Workers:
    """The pass's worker processes: a ``ProcessPoolExecutor`` of fresh interpreters
    (``spawn``: a fork would copy this process's threads and event loop), with a stop flag
    they share (the pool's ``initializer`` hands it to each).

    A cancelled pass stops its workers through the flag: each looks at it between chunks and
    before it opens a part's files (``_index_part``), so it is out within one chunk. Killing
    them is no option: the executor reaches its processes only through private attributes
    before Python 3.14 (``kill_workers``), and a worker killed while it holds the lock of the
    pool's call queue leaves the others waiting on it forever (its ``shutdown`` hangs)."""

    def __init__(self, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop: Any = context.Event()
        self.executor = ProcessPoolExecutor(
            max_workers=count,
            mp_context=context,
            initializer=_worker_starts,
            initargs=(self._stop,),
        )
        #: Every part handed to a worker, in order.
        self.futures: list[Future[Any]] = []

    def submit(self, job: dict[str, Any]) -> asyncio.Future[Any]:
        future = self.executor.submit(_WORKER, job)
        self.futures.append(future)
        return asyncio.wrap_future(future)

    def close(self, *, stop: bool) -> None:
        """Shut the pool down (``stop``: its workers drop their parts first); returns once
        every worker is gone, before the caller removes the index files they write."""
        if stop:
            self._stop.set()
        self.executor.shutdown(wait=True, cancel_futures=True)


def _pool(workers: int) -> _Workers:
    return _Workers(workers)


#: In a worker process: the pool's stop flag (``_Workers``).
_STOP: Any = None


def _worker_starts(stop: Any) -> None:
    global _STOP
    _STOP = stop


def _stopped() -> bool:
    return _STOP is not None and _STOP.is_set()


class _Stopped(Exception):
    """The pool was closed while this worker had a part: its work is thrown away."""


def _index_part(job: dict[str, Any]) -> PassResult:
    """A child's work: the pass over bytes ``start``..``end`` of the file."""
    if _stopped():  # before the part's files are opened: the caller may have removed them
        raise _Stopped
    files = {name: Path(p) for name, p in job["files"].items()}
    start, end = int(job["start"]), int(job["end"])
    one = _Pass(files, tuple(job["secrets"]), at_start=start == 0)
    with open(job["path"], "rb") as handle:
        handle.seek(start)
        left = end - start
        while left > 0:
            chunk = handle.read(min(READ_CHUNK, left))
            if not chunk:
                break
            if _stopped():
                one.abort()
                raise _Stopped
            left -= len(chunk)
            one.feed(chunk)
    return one.finish()


#: What a worker runs (tests swap it for one that fails).
_WORKER = _index_part
