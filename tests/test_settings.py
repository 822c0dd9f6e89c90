"""Settings read from the environment as the docs say (docs/deploy.md, "Settings"), without
pydantic-settings: values given in code first, then ``IPTVSYNC_*`` in any case, then the
defaults; a variable that does not read as its type is an error that names it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from iptvsync.settings import Secret, Settings, SettingsError


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No IPTVSYNC_* of the caller's: each test sets its own."""
    for name in list(os.environ):
        if name.lower().startswith("iptvsync_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_defaults_then_the_environment_then_given_values(env: pytest.MonkeyPatch) -> None:
    assert Settings().port == 8000 and Settings().data_dir == Path("./data")
    env.setenv("IPTVSYNC_PORT", "+9001")  # a sign, as int() and pydantic took it
    env.setenv("iptvsync_data_dir", "/srv/iptv")  # any case, as pydantic-settings read them
    env.setenv("IPTVSYNC_SCHEDULER", "off")
    env.setenv("IPTVSYNC_MAX_RPS", "2.5")
    settings = Settings()
    assert (settings.port, settings.data_dir, settings.scheduler) == (
        9001,
        Path("/srv/iptv"),
        False,
    )
    assert settings.max_rps == 2.5
    assert Settings(port=7000, data_dir="/tmp/x").port == 7000
    assert Settings(data_dir="/tmp/x").data_dir == Path("/tmp/x")  # a text given is a path
    env.setenv("IPTVSYNC_SOMETHING_ELSE", "1")  # not a setting: ignored
    assert Settings().port == 9001


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", True), ("true", True), ("Yes", True), ("on", True), ("0", False), ("FALSE", False),
     ("no", False), ("off", False)],
)  # fmt: skip
def test_yes_and_no(env: pytest.MonkeyPatch, text: str, value: bool) -> None:
    env.setenv("IPTVSYNC_WRITE_PROCESS", text)
    assert Settings().write_process is value


@pytest.mark.parametrize(
    ("name", "text", "said"),
    [
        ("IPTVSYNC_PORT", "eighty", "not a whole number"),
        ("IPTVSYNC_BATCH_SIZE", "2000.5", "not a whole number"),
        ("IPTVSYNC_PORT", "٨٠٠٠", "not a whole number"),  # Arabic-Indic digits int() reads
        ("IPTVSYNC_MAX_RPS", "1_0", "not a number"),
        ("IPTVSYNC_SCHEDULER", "maybe", "not a yes or no"),
        ("IPTVSYNC_GUARD_RATIO", "nan", "not a finite number"),
        ("IPTVSYNC_REQUEST_TIMEOUT_S", "", "not a number"),
        ("IPTVSYNC_ALLOWED_HOSTS", '["tv.lan"', "not a JSON list"),
        ("IPTVSYNC_CORS_ORIGINS", '["a", 1]', "not a list of texts"),
    ],
)
def test_a_bad_variable_is_an_error_that_names_it(
    env: pytest.MonkeyPatch, name: str, text: str, said: str
) -> None:
    env.setenv(name, text)
    with pytest.raises(SettingsError, match=name) as caught:
        Settings()
    assert said in str(caught.value)


def test_lists_as_json_or_separated_by_commas(env: pytest.MonkeyPatch) -> None:
    env.setenv("IPTVSYNC_ALLOWED_HOSTS", '["tv.lan", "tv.home"]')
    env.setenv("IPTVSYNC_CORS_ORIGINS", " https://a.example , https://b.example,")
    settings = Settings()
    assert settings.allowed_hosts == ["tv.lan", "tv.home"]
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert Settings().allowed_hosts is not settings.allowed_hosts  # not shared between copies
    assert Settings.allowed_hosts == []  # nor the default changed through one


def test_empty_values(env: pytest.MonkeyPatch) -> None:
    """An empty secret stays set and empty (refused at start: an empty admin token is not
    "no token", docs/security.md); an empty optional path or number is unset."""
    env.setenv("IPTVSYNC_ADMIN_TOKEN", "")
    env.setenv("IPTVSYNC_SNAPSHOT_DIR", "")
    env.setenv("IPTVSYNC_MAX_RPS", " ")
    settings = Settings()
    assert settings.admin_token == Secret("") and settings.admin_token is not None
    assert settings.snapshot_dir is None and settings.max_rps is None


def test_secrets_never_show(env: pytest.MonkeyPatch) -> None:
    token = "a-token-that-must-not-leak-0123456789"
    env.setenv("IPTVSYNC_ADMIN_TOKEN", token)
    settings = Settings(secret_key="another-secret-that-must-not-leak")
    assert settings.admin_token is not None and settings.admin_token.get_secret_value() == token
    shown = f"{settings!r} {settings.admin_token} {settings.secret_key!r}"
    assert token not in shown and "another-secret" not in shown
    assert "**********" in shown


def test_replace_makes_a_changed_copy(env: pytest.MonkeyPatch) -> None:
    settings = Settings(port=8000)
    other = settings.replace(port="8100", admin_token="t" * 30)
    assert (other.port, settings.port) == (8100, 8000)  # read as Settings(...) reads values
    assert other.admin_token == Secret("t" * 30) and settings.admin_token is None
    assert settings.replace() == settings and settings.replace() is not settings
    with pytest.raises(SettingsError, match=r"^port: 'eighty' is not a whole number"):
        settings.replace(port="eighty")
    with pytest.raises(TypeError, match="colour"):
        settings.replace(colour="red")
    with pytest.raises(TypeError, match="colour"):
        Settings(colour="red")


def test_a_bad_variable_stops_the_cli_with_one_line(tmp_path: Path) -> None:
    env = {"IPTVSYNC_DATA_DIR": str(tmp_path), "IPTVSYNC_PORT": "eighty", "PATH": "/usr/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "iptvsync", "provider", "list"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "IPTVSYNC_PORT: 'eighty' is not a whole number" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_sync_loads_no_settings_library() -> None:
    """What a sync imports before its first request (bench/sync_instructions.py's list) holds
    no pydantic-settings (its import and the model's build were 7 % of a short command's
    instructions)."""
    code = (
        "import sys, iptvsync.cli, iptvsync.sync.service, iptvsync.sync.engine, "
        "iptvsync.providers.stalker.client, iptvsync.snapshot.build, iptvsync.store.open; "
        "iptvsync.settings.Settings(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pydantic', 'pydantic_settings', 'pydantic_core')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
