"""The CLI for a newcomer (issue 22): provider edit/remove, unique names, validation errors as
sentences, quiet migrations, probe's totals labelled as the portal's, the demo's stable port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iptvsync.cli import app
from iptvsync.cli_demo import PORT_FILE, demo_portal_port
from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.server import ServerThread, free_port
from iptvsync.fakes.stalker import DEFAULT_MAC, StalkerFakeConfig, create_app
from iptvsync.settings import Settings

runner = CliRunner()


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("IPTVSYNC_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("IPTVSYNC_DATABASE_URL", settings.resolved_database_url())
    return settings


def _one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    return lines[0]


def test_provider_edit_and_remove(env: Settings) -> None:
    add = ["provider", "add", "m3u", "--url", "http://h.test/a.m3u", "--name", "home"]
    assert runner.invoke(app, add).exit_code == 0
    again = runner.invoke(app, [*add[:4], "http://o.io/b", "--name", "home"])
    assert again.exit_code == 2
    assert _one_line(again.output).startswith("error: provider_name_taken: ")
    listed = runner.invoke(app, ["provider", "list"]).output
    assert listed.count("home") == 1 and "o.io" not in listed

    edited = runner.invoke(
        app, ["provider", "edit", "home", "--name", "work", "--url", "http://n.io/a"]
    )
    assert edited.exit_code == 0, edited.output
    listed = runner.invoke(app, ["provider", "list"]).output
    assert "work" in listed and "http://n.io/a" in listed and "home" not in listed

    nothing = runner.invoke(app, ["provider", "edit", "work"])
    assert nothing.exit_code == 2 and "Nothing to change" in nothing.output
    bad = runner.invoke(app, ["provider", "edit", "work", "--url", "ftp://x"])
    assert (
        _one_line(bad.output)
        == "error: validation_error: The URL must be an http(s) URL with a host."
    )

    kept = runner.invoke(app, ["provider", "remove", "work"], input="n\n")
    assert kept.exit_code != 0 and "work" in runner.invoke(app, ["provider", "list"]).output
    removed = runner.invoke(app, ["provider", "remove", "work", "--yes"])
    assert removed.exit_code == 0, removed.output
    assert "work" not in runner.invoke(app, ["provider", "list"]).output
    gone = runner.invoke(app, ["provider", "remove", "work", "--yes"])
    assert gone.exit_code == 2 and _one_line(gone.output).startswith("error: not_found: ")


def test_provider_add_with_a_mac_pool(env: Settings) -> None:
    macs = ["--mac", DEFAULT_MAC, "--mac", "00:1a:79:00:00:02", "--mac", "00-1A-79-00-00-03"]
    add = ["provider", "add", "stalker", "--url", "http://h.test/c/", "--name", "mag", *macs]
    assert runner.invoke(app, add).exit_code == 0
    from iptvsync.store import macs as pool_store
    from iptvsync.store.open import open_database

    db = open_database(env)
    try:
        with db.connect() as conn:
            pool = [e["mac"] for e in pool_store.pool(conn, 1)]
    finally:
        db.dispose()
    assert pool == [DEFAULT_MAC, "00:1A:79:00:00:02", "00:1A:79:00:00:03"]
    bad = runner.invoke(app, [*add[:5], "--name", "m2", "--mac", DEFAULT_MAC, "--mac", "nope"])
    assert bad.exit_code == 2 and "must look like 00:1A:79:12:34:56" in bad.output


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["stalker", "--url", "http://h.test/c/", "--mac", "00:1A:79:12:34"],
         "The MAC must look like 00:1A:79:12:34:56."),
        (["stalker", "--url", "http://h.test/c/"], "A stalker provider needs a MAC address."),
        (["xtream", "--url", "http://h.test", "--username", "u"],
         "An xtream provider needs a username and a password."),
        (["nope", "--url", "http://h.test"],
         "The kind should be 'stalker', 'xtream' or 'm3u'."),
    ],
)  # fmt: skip
def test_validation_errors_read_as_sentences(env: Settings, args: list[str], line: str) -> None:
    out = runner.invoke(app, ["provider", "add", *args])
    assert out.exit_code == 2
    assert _one_line(out.output) == f"error: validation_error: {line}"
    assert "Value error" not in out.output and "input:" not in out.output


def test_probe_labels_counts_as_the_portals_totals() -> None:
    fake = create_app(generate(seed=4, movies=50, series=10, channels=12), StalkerFakeConfig())
    with ServerThread(fake) as portal:
        out = runner.invoke(app, ["probe", "--url", f"{portal.url}/c/", "--mac", DEFAULT_MAC])
    assert out.exit_code == 0, out.output
    for kind in ("channels", "movies", "series"):
        assert f"{kind} (portal's total)" in out.output


def _cli(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPTVSYNC_")}
    env.update(IPTVSYNC_DATA_DIR=str(data_dir), COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "iptvsync", *args], env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip


def test_migrations_are_quiet_unless_verbose(tmp_path: Path) -> None:
    # A fresh data dir: every migration runs before the one-line error.
    quiet = _cli(["sync", "nobody"], tmp_path / "a")
    assert quiet.returncode == 2
    assert _one_line(quiet.stdout + quiet.stderr).startswith("error: not_found: ")
    loud = _cli(["sync", "nobody", "-v"], tmp_path / "b")
    assert loud.returncode == 2
    assert "alembic" in loud.stderr and "Running upgrade" in loud.stderr


def test_the_demo_portal_keeps_its_port_per_data_dir(tmp_path: Path) -> None:
    first = demo_portal_port(tmp_path)
    assert (tmp_path / PORT_FILE).read_text().strip() == str(first)
    assert demo_portal_port(tmp_path) == first
    with socket.socket() as busy:  # the remembered port is taken now: another one, remembered
        busy.bind(("127.0.0.1", first))
        busy.listen()
        second = demo_portal_port(tmp_path)
    assert second != first and demo_portal_port(tmp_path) == second
    chosen = free_port()  # --portal-port: used and remembered
    assert demo_portal_port(tmp_path, chosen) == chosen and demo_portal_port(tmp_path) == chosen
    assert demo_portal_port(tmp_path / "other") not in (None, 0)
