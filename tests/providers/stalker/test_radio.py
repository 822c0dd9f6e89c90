"""The portal's radio module (``type=radio``) over real sockets, on both families: stations are
channels flagged radio, with ids that cannot collide with TV channels', shown by probe, played
from their cmd; a portal without the module answers nothing and the walk is unchanged."""

from __future__ import annotations

import pytest

from iptvsync.providers.base import PlayTarget
from iptvsync.records import ChannelRecord, Scope
from tests.providers.stalker.test_client import FAMILIES, keys, walk
from tests.providers.stalker.test_fidelity import live


@pytest.mark.parametrize("family", FAMILIES)
async def test_radio_module_stations_are_radio_channels(family: str) -> None:
    async with live(family, radio_module=True) as lv:
        stations = {c.id for c in lv.catalogue.channels if c.radio}
        assert stations, "the fake catalogue has radio stations"
        probe = await lv.client.probe()
        assert probe.modules["radio"] == len(stations)
        result, pages = await walk(lv.client, Scope.CHANNELS)
        assert result.complete
        expected = {("channel", str(c.id)) for c in lv.catalogue.channels if not c.radio}
        expected |= {("channel", f"radio:{i}") for i in stations}
        assert set(keys(pages)) == expected
        records = [r for p in pages for r in p.records if isinstance(r, ChannelRecord)]
        radio = [r for r in records if r.radio]
        assert {r.provider_item_id for r in radio} == {f"radio:{i}" for i in stations}
        assert not any(r.radio for r in records if not r.provider_item_id.startswith("radio:"))
        station = radio[0]
        url = await lv.client.resolve_play(
            PlayTarget("channel", station.provider_item_id, cmd=station.cmd)
        )
        assert url == f"{lv.url}/radio/{station.provider_item_id.split(':')[1]}.aac"


@pytest.mark.parametrize("family", FAMILIES)
async def test_a_portal_without_a_radio_module(family: str) -> None:
    async with live(family) as lv:
        probe = await lv.client.probe()
        assert "radio" not in probe.modules
        result, pages = await walk(lv.client, Scope.CHANNELS)
        assert result.complete
        assert set(keys(pages)) == {("channel", str(c.id)) for c in lv.catalogue.channels}
