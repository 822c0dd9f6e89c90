"""The CLI as a user runs it: probe (issue 3), provider add/list and sync with progress."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from iptvsync.cli import app
from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.server import ServerThread
from iptvsync.fakes.stalker import DEFAULT_MAC, StalkerFakeConfig, create_app
from iptvsync.settings import Settings

runner = CliRunner()


@pytest.fixture
def portal() -> ServerThread:
    app_ = create_app(generate(seed=4, movies=50, series=10, channels=12), StalkerFakeConfig())
    with ServerThread(app_) as server:
        yield server  # type: ignore[misc]


def test_probe_prints_what_the_portal_is(portal: ServerThread) -> None:
    out = runner.invoke(app, ["probe", "--url", f"{portal.url}/c/", "--mac", DEFAULT_MAC])
    assert out.exit_code == 0, out.output
    assert "stock" in out.output and "14" in out.output and "active" in out.output
    assert DEFAULT_MAC not in out.output


@pytest.mark.parametrize(
    ("url", "mac", "code"),
    [
        ("http://127.0.0.1:9/c/", DEFAULT_MAC, "provider_unreachable"),
        ("{portal}/c/", "00:1A:79:00:00:01", "provider_auth_failed"),
        ("{portal}/_control/stats", DEFAULT_MAC, "not_a_portal"),
        ("{portal}/c/", "00:1A:79:12:34", "validation_error"),
    ],
)
def test_probe_errors_are_one_clear_line(
    portal: ServerThread, url: str, mac: str, code: str
) -> None:
    out = runner.invoke(app, ["probe", "--url", url.format(portal=portal.url), "--mac", mac])
    assert out.exit_code == 2
    lines = [line for line in out.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {code}: "), out.output
    assert "Traceback" not in out.output


def test_provider_add_list_and_sync(
    portal: ServerThread, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IPTVSYNC_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("IPTVSYNC_DATABASE_URL", settings.resolved_database_url())
    added = runner.invoke(
        app,
        ["provider", "add", "stalker", "--url", f"{portal.url}/c/", "--mac", DEFAULT_MAC,
         "--name", "home"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    synced = runner.invoke(app, ["sync", "home"])
    assert synced.exit_code == 0, synced.output
    assert "succeeded" in synced.output
    listed = runner.invoke(app, ["provider", "list"])
    assert listed.exit_code == 0
    assert "home" in listed.output and "00:1A:79:XX:XX:56" in listed.output
    assert DEFAULT_MAC not in listed.output + synced.output
    bad = runner.invoke(app, ["provider", "add", "stalker", "--url", "nope", "--mac", DEFAULT_MAC])
    assert bad.exit_code == 2 and "validation_error" in bad.output
    missing = runner.invoke(app, ["sync", "nobody"])
    assert missing.exit_code == 2 and "not_found" in missing.output
