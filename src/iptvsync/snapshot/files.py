"""Snapshot files: where they live, how they are written (streamed, compressed, atomic), and
how they go away.

Layout under ``settings.resolved_snapshot_dir()``::

    provider-7.json  .json.gz  .json.br  .json.zst     the latest snapshot, for nginx or a CDN
    provider-7/v12.json(.gz|.br|.zst)                  version 12, what the API serves
    provider-7/v12.essentials.json(.gz|.br|.zst)       its first-paint part

Versioned files never change once written, so an ETag naming the version always names the same
bytes, even while the next build writes; the top-level files are hard links to the latest
version (a copy where the filesystem has no links), swapped in with ``os.replace``. The API
keeps the previous version's files too, for downloads still in flight.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import brotli
import sqlalchemy as sa
import zstandard

from iptvsync import deflate
from iptvsync.settings import Settings

log = logging.getLogger("iptvsync.snapshot")

#: Content-Encoding → file suffix. Smallest first: the order a tie in q-values is broken in.
ENCODINGS: dict[str, str] = {"br": ".br", "zstd": ".zst", "gzip": ".gz", "identity": ""}
#: Levels by CPU against size on the 20 MB default-catalogue document (docs/benchmarks.md):
#: gzip 5 is 2 % larger than 6 at two thirds of its CPU; brotli 5 is 1.8 % larger than 6
#: (2,081,744 against 2,044,710 bytes) at three quarters of its CPU (0.176 against 0.227 s):
#: the largest single cost of a first sync's end, where the two cores are busy with the
#: snapshot and the read indexes (session 27). zstd 1: ``negotiate``
#: sends the smallest file a client accepts, so zstd is the answer only to clients that take
#: zstd and not brotli (a browser takes both, and gets brotli's); level 3 took 0.18 s less
#: than 6 for 13 % more bytes, and level 1 half of 3's CPU again (0.047 against 0.102 s) for
#: 0.4 % more (3.91 against 3.90 MB): the build's CPU is a sync's end on a busy machine
#: (docs/benchmarks.md, issue 21).
GZIP_LEVEL = 5
BROTLI_QUALITY = 5
ZSTD_LEVEL = 1
#: 1 MiB windows (brotli ``lgwin``, zstd ``window_log``) instead of the levels' 4-8 MiB: the
#: compressors' state was ~34 of the 52 MB a snapshot build added to a sync's peak RSS, and
#: on the 20 MB default-catalogue snapshot the files come out no larger (br 2,052,911 →
#: 2,045,092 bytes, zstd 1,995,277 → 1,990,599; docs/benchmarks.md, issue 21).
WINDOW_LOG = 20
CHUNK = 256 * 1024
QUEUED_CHUNKS = 4  # per encoding: bounds memory while the compressors catch up
#: A temp file untouched this long belongs to a build whose process died: it is removed.
STALE_TEMP_S = 3600


def provider_dir(settings: Settings, provider_id: int) -> Path:
    return settings.resolved_snapshot_dir() / f"provider-{provider_id}"


def version_path(
    settings: Settings, provider_id: int, version: int, part: str = "", encoding: str = "identity"
) -> Path:
    """A versioned file; ``part`` is ``""`` for the whole snapshot or ``"essentials"``."""
    name = f"v{version}.{part}.json" if part else f"v{version}.json"
    return provider_dir(settings, provider_id) / (name + ENCODINGS[encoding])


def stable_path(settings: Settings, provider_id: int, encoding: str = "identity") -> Path:
    return settings.resolved_snapshot_dir() / f"provider-{provider_id}.json{ENCODINGS[encoding]}"


class _Sink:
    """One output file: a compressor (or none) feeding a temp file next to the target.

    Compression runs in the sink's own thread (zlib, brotli and zstd release the GIL), fed
    through a short queue: the builder keeps reading rows and making JSON while the three
    encoders work, and memory stays at a few chunks per sink. The thread also finishes its
    file (the encoder's tail, the fsync), so the files that are done are synced while brotli
    still works through its last chunks, not one after the other once it has.
    """

    def __init__(self, target: Path, encoding: str) -> None:
        self.target = target
        self.encoding = encoding
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        self.tmp = Path(tmp)
        self.file: BinaryIO = os.fdopen(fd, "wb")
        self.size = 0
        self._compress: Callable[[bytes], bytes] | None
        self._flush: Callable[[], bytes] | None
        if encoding == "gzip":
            z = deflate.gzip_compressor(GZIP_LEVEL)  # zlib-ng where installed
            self._compress, self._flush = z.compress, z.flush
        elif encoding == "br":
            b = brotli.Compressor(mode=brotli.MODE_TEXT, quality=BROTLI_QUALITY, lgwin=WINDOW_LOG)
            self._compress, self._flush = b.process, b.finish
        elif encoding == "zstd":
            params = zstandard.ZstdCompressionParameters.from_level(
                ZSTD_LEVEL, window_log=WINDOW_LOG, hash_log=WINDOW_LOG - 1, chain_log=WINDOW_LOG
            )
            zc = zstandard.ZstdCompressor(compression_params=params).compressobj()
            self._compress, self._flush = zc.compress, zc.flush
        else:
            self._compress = self._flush = None
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUED_CHUNKS)
        self._error: BaseException | None = None
        self._abandoned = False  # discard(): the file is not finished, only dropped
        self._ended = False  # the end-of-data marker is queued (once)
        self._thread = threading.Thread(target=self._run, name=f"snapshot-{encoding}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (data := self._queue.get()) is not None:
            if self._error is not None:
                continue  # keep draining so the producer never blocks on a dead sink
            try:
                out = self._compress(data) if self._compress else data
                if out:
                    self.file.write(out)
                    self.size += len(out)
            except BaseException as exc:  # re-raised in the builder's thread
                self._error = exc
        if self._error is None and not self._abandoned:
            try:
                self._finish()
            except BaseException as exc:
                self._error = exc

    def _finish(self) -> None:
        if self._flush is not None:
            tail = self._flush()
            self.file.write(tail)
            self.size += len(tail)
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()

    def write(self, data: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(data)

    def finish(self) -> None:
        """No more data: the thread finishes the file on its own (``commit`` waits for it)."""
        if not self._ended:
            self._ended = True
            self._queue.put(None)

    def _stop(self) -> None:
        self.finish()
        self._thread.join()

    def commit(self) -> None:
        """Wait for the thread to finish the file, then move it into place."""
        self._stop()
        if self._error is not None:
            raise self._error
        os.replace(self.tmp, self.target)

    def discard(self) -> None:
        self._abandoned = True
        self._stop()
        with contextlib.suppress(OSError):
            self.file.close()
        with contextlib.suppress(OSError):
            self.tmp.unlink()


class MultiWriter:
    """Write one byte stream to ``base`` in every encoding at once, in a single pass.

    Bytes are buffered into chunks of ``CHUNK`` before they reach the compressors, so memory is
    a few chunks plus the compressors' windows, whatever the size of the stream. Files appear only
    on ``commit`` (atomic rename); ``discard`` leaves nothing behind.
    """

    def __init__(self, base: Path, encodings: tuple[str, ...] = tuple(ENCODINGS)) -> None:
        base.parent.mkdir(parents=True, exist_ok=True)
        self.sinks: list[_Sink] = []
        try:
            for enc in encodings:
                self.sinks.append(_Sink(Path(str(base) + ENCODINGS[enc]), enc))
        except BaseException:
            self.discard()
            raise
        self._buffer: list[bytes] = []
        self._buffered = 0

    def write(self, data: bytes) -> None:
        self._buffer.append(data)
        self._buffered += len(data)
        if self._buffered >= CHUNK:
            self._drain()

    def _drain(self) -> None:
        if not self._buffer:
            return
        chunk = b"".join(self._buffer)
        self._buffer.clear()
        self._buffered = 0
        for sink in self.sinks:
            sink.write(chunk)

    def commit(self) -> dict[str, int]:
        """Finish every file and move it into place; returns encoding → bytes on disk."""
        try:
            self._drain()
            for sink in self.sinks:
                sink.finish()
            for sink in self.sinks:
                sink.commit()
        except BaseException:
            self.discard()
            raise
        return {s.encoding: s.size for s in self.sinks}

    def discard(self) -> None:
        for sink in self.sinks:
            sink.discard()

    def __enter__(self) -> MultiWriter:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if exc_type is not None:
            self.discard()


def publish_stable(settings: Settings, provider_id: int, version: int) -> list[Path]:
    """Point the top-level ``provider-{id}.json*`` files at ``version``, atomically."""
    out: list[Path] = []
    for enc in ENCODINGS:
        source = version_path(settings, provider_id, version, encoding=enc)
        target = stable_path(settings, provider_id, enc)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.link")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        try:
            os.link(source, tmp)
        except OSError:  # no hard links here (some network or object-store mounts): copy
            shutil.copyfile(source, tmp)
        os.replace(tmp, target)
        out.append(target)
    return out


def prune_versions(settings: Settings, provider_id: int, keep: set[int]) -> None:
    """Delete versioned files of every version not in ``keep``."""
    folder = provider_dir(settings, provider_id)
    if not folder.is_dir():
        return
    stale_before = time.time() - STALE_TEMP_S
    for path in folder.iterdir():
        name = path.name
        if name.startswith("."):  # a temp file: of a build in progress, or of a killed one
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < stale_before:
                    path.unlink()
            continue
        head = name.split(".", 1)[0]
        if head.startswith("v") and head[1:].isdigit() and int(head[1:]) not in keep:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def remove_snapshot_files(settings: Settings, provider_id: int) -> None:
    """Delete every snapshot file of a provider (``DELETE /api/providers/{id}/clean``)."""
    for enc in ENCODINGS:
        with contextlib.suppress(FileNotFoundError):
            stable_path(settings, provider_id, enc).unlink()
    shutil.rmtree(provider_dir(settings, provider_id), ignore_errors=True)
    from iptvsync.snapshot.serve import forget_provider

    forget_provider(provider_id)


def export_snapshots(db: sa.Engine, settings: Settings, provider_id: int | None) -> list[Path]:
    """Build the snapshot of one provider (or of every synced provider) and return the
    top-level files written (``iptvsync snapshot export``)."""
    from iptvsync.snapshot.build import build_snapshot
    from iptvsync.store.snapshot_index import synced_providers

    with db.connect() as conn:
        ids = synced_providers(conn, provider_id)
    paths: list[Path] = []
    for pid in ids:
        info = build_snapshot(db, settings, pid)
        if info is not None:
            paths += [stable_path(settings, pid, enc) for enc in ENCODINGS]
    return paths


def decompress(data: bytes, encoding: str) -> bytes:
    """Inverse of the writer's encodings (tests and tools)."""
    if encoding == "gzip":
        return gzip.decompress(data)
    if encoding == "br":
        return bytes(brotli.decompress(data))
    if encoding == "zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    return data
