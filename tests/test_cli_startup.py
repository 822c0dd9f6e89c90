"""Start-up stays light (issue 22): which modules a command imports, not how long it takes
(times depend on the host; they are measured by bench/cli.py, docs/benchmarks.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HEAVY_FOR_HELP = (
    "sqlalchemy", "fastapi", "starlette", "httpx", "aiohttp", "alembic",
    "pydantic", "pydantic_core", "iptvsync.settings", "iptvsync.store", "asyncio",
)  # fmt: skip


def _env(data_dir: Path) -> dict[str, str]:
    """This environment without the caller's iptvsync settings, with ``data_dir``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPTVSYNC_")}
    env["IPTVSYNC_DATA_DIR"] = str(data_dir)
    return env


def imported(args: list[str], data_dir: Path) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "iptvsync", *args],
        env=_env(data_dir), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    names = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return names, done


def _loaded(names: set[str], package: str) -> bool:
    return any(n == package or n.startswith(package + ".") for n in names)


def test_help_imports_nothing_heavy(tmp_path: Path) -> None:
    names, done = imported(["--help"], tmp_path)
    assert done.returncode == 0 and "provider" in done.stdout
    assert "typer" in names  # the parse worked: importtime lines were read
    assert [p for p in HEAVY_FOR_HELP if _loaded(names, p)] == []
    names, done = imported(["provider", "--help"], tmp_path)
    assert done.returncode == 0 and "edit" in done.stdout and "remove" in done.stdout
    assert [p for p in HEAVY_FOR_HELP if _loaded(names, p)] == []


def test_alembic_only_when_the_database_is_behind(tmp_path: Path) -> None:
    first, done = imported(["provider", "list"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert _loaded(first, "alembic")  # a new database: every migration runs
    again, done = imported(["provider", "list"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert not _loaded(again, "alembic")
    assert not _loaded(again, "fastapi")  # nor the web framework, to list providers


def test_a_sync_loads_no_pydantic(tmp_path: Path) -> None:
    """pydantic is the API's (FastAPI's request models): a sync, and a listing, start without
    it. Its import with typer 0.29's parameter adapters and pydantic-settings' model was ~22 %
    of a short command's instructions (docs/benchmarks.md, session 25)."""
    names, done = imported(["provider", "list"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert _loaded(names, "typer") and _loaded(names, "iptvsync.settings")
    assert not _loaded(names, "pydantic") and not _loaded(names, "pydantic_core")
    names, done = imported(["sync", "nobody"], tmp_path)  # parameters parsed, settings read
    assert done.returncode == 2 and "no provider with id or name 'nobody'" in done.stderr
    assert not _loaded(names, "pydantic") and not _loaded(names, "pydantic_core")


def test_the_command_freezes_its_heap_before_the_teardown(tmp_path: Path) -> None:
    """``main`` freezes the heap as the command ends, so the interpreter's teardown does not
    collect it all once more (docs/benchmarks.md, session 27). An atexit handler runs after
    ``main`` and before that teardown: it sees the frozen objects, and the command's own exit
    code is kept, whether it succeeded or failed."""
    probe = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count(), file=sys.stderr))\n"
        "from iptvsync.cli import main\n"
        "sys.argv = ['iptvsync', *sys.argv[1:]]\n"
        "main()\n"
    )
    for args, code in ((["--help"], 0), (["sync", "nobody"], 2)):
        done = subprocess.run(
            [sys.executable, "-c", probe, *args], env=_env(tmp_path), capture_output=True,
            text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == code, done.stderr
        frozen = [line for line in done.stderr.splitlines() if line.startswith("frozen ")]
        assert len(frozen) == 1 and int(frozen[0].split()[1]) > 1000, done.stderr
