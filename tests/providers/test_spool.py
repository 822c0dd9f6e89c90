"""Nothing left behind: spool files of a run go with the run, a killed process's at the next
start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from iptvsync.fakes.hostile import Mode
from iptvsync.providers.base import ProviderConfig
from iptvsync.providers.http import build_http_client
from iptvsync.providers.m3u.client import M3uClient
from iptvsync.providers.spool import spool_dir, sweep_leftovers

KILLED = """
import os, signal
from iptvsync.providers.spool import new_spool
fd, path = new_spool("iptvsync-m3u-", ".m3u")
os.write(fd, b"#EXTM3U")
print(path, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_leftovers_of_a_killed_process_are_swept(own_spool: Path) -> None:
    # A spool folder of this test's own: another process (an xdist worker) could sweep the
    # shared one and take the leftover first.
    done = subprocess.run([sys.executable, "-c", KILLED], capture_output=True, text=True)
    assert done.returncode == -9
    left = Path(done.stdout.strip())
    assert left.exists() and left.parent == spool_dir()
    mine = spool_dir() / f"iptvsync-m3u-{os.getpid()}-keep.m3u"
    mine.write_bytes(b"")
    try:
        assert sweep_leftovers() >= 1
        assert not left.exists()
        assert mine.exists(), "a live process's files stay"
    finally:
        mine.unlink()


async def test_a_failed_download_and_a_closed_client_leave_no_file(tmp_path: Path) -> None:
    from iptvsync.fakes.catalogue import generate
    from iptvsync.fakes.hostile import HostileConfig, HostileProvider
    from iptvsync.fakes.m3u import create_app
    from iptvsync.fakes.server import ServerThread

    def mine() -> set[Path]:
        return set(spool_dir().glob(f"*-{os.getpid()}-*"))

    before = mine()
    hostile = HostileProvider(
        create_app(generate(seed=2, movies=20, series=4, channels=10)), "m3u", HostileConfig()
    )
    with ServerThread(hostile) as server:
        async with build_http_client(max_playlist_bytes=16 * 2**20) as http:
            config = ProviderConfig(kind="m3u", url=f"{server.url}/playlist.m3u")
            client = M3uClient(config, http)
            await client.categories("movie")  # type: ignore[arg-type]
            assert mine() - before, "the playlist and its index are spooled"
            await client.aclose()
            assert mine() == before
            hostile.config.mode = Mode.ENDLESS_BODY  # the download fails half-way
            client = M3uClient(config, http)
            try:
                await client.categories("movie")  # type: ignore[arg-type]
            except Exception as exc:
                assert "too large" in str(exc)
            else:
                raise AssertionError("an endless playlist was accepted")
            assert mine() == before
            await client.aclose()
