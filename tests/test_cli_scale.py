"""Scale mode's commands as docs/deploy.md starts them (issue 18, point 10): every process
needs the shared PostgreSQL URL in its own environment, and ``serve --help`` says where syncs
run in each deployment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from iptvsync.cli import app


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPTVSYNC_")}
    return {**env, "IPTVSYNC_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200", **extra}


def test_a_worker_without_the_database_url_exits_with_a_clear_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "iptvsync", "worker"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    message = " ".join(done.stderr.split())
    assert "`iptvsync worker` needs the PostgreSQL database" in message
    assert "IPTVSYNC_DATABASE_URL is not set in this process's environment" in message
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "data" / "iptvsync.db").exists()  # no SQLite file of its own


def test_a_worker_given_a_sqlite_url_is_refused_too(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/x.db"
    out = CliRunner().invoke(app, ["worker"], env=_env(tmp_path, IPTVSYNC_DATABASE_URL=url))
    assert out.exit_code == 2
    assert "IPTVSYNC_DATABASE_URL is set but not PostgreSQL" in " ".join(out.output.split())


def test_serve_in_scale_mode_without_postgresql_is_refused(tmp_path: Path) -> None:
    out = CliRunner().invoke(app, ["serve"], env=_env(tmp_path, IPTVSYNC_RUNNER="procrastinate"))
    assert out.exit_code == 2
    text = " ".join(out.output.split())
    assert "IPTVSYNC_RUNNER=procrastinate needs the PostgreSQL database" in text


def test_serve_help_says_where_syncs_run_in_both_modes(tmp_path: Path) -> None:
    out = CliRunner().invoke(app, ["serve", "--help"], env=_env(tmp_path))
    assert out.exit_code == 0
    text = " ".join(out.output.split())
    assert "run in this process by default" in text
    assert "IPTVSYNC_RUNNER=procrastinate" in text and "iptvsync worker" in text
    assert "run syncs in-process" not in text
