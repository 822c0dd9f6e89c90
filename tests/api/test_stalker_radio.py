"""A Stalker portal's radio module through sync to the outputs, over real sockets: stations are
stored as channels with ``radio: true``, ``/playlist.m3u`` marks them ``radio="true"`` and the
Xtream output lists them as ``radio_streams``."""

from __future__ import annotations

import pytest

from iptvsync.settings import Settings
from tests.api.test_stalker_guide import FAMILIES, _sync


@pytest.mark.parametrize("family", FAMILIES)
def test_radio_stations_reach_the_outputs_as_radio(settings: Settings, family: str) -> None:
    for client, pid, run, catalogue in _sync(settings, family, radio_module=True):
        assert run["status"] == "succeeded", run
        stations = {c.name for c in catalogue.channels if c.radio}
        assert stations
        items = client.get(f"/api/providers/{pid}/channels", params={"limit": 500}).json()["items"]
        assert len(items) == len(catalogue.channels)
        flags = {
            i["name"]: client.get(f"/api/providers/{pid}/channels/{i['id']}").json()["radio"]
            for i in items
        }
        assert {name for name, radio in flags.items() if radio} == stations
        playlist = client.get("/playlist.m3u").text
        flagged = [line for line in playlist.splitlines() if 'radio="true"' in line]
        assert {line.rsplit(",", 1)[1] for line in flagged} == stations
        live = client.get(
            "/player_api.php",
            params={"username": "u", "password": "p", "action": "get_live_streams"},
        ).json()
        assert {r["name"] for r in live if r["stream_type"] == "radio_streams"} == stations
