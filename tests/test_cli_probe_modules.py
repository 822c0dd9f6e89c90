"""`iptvsync probe` against each variant of the fake portal lists every module it found with
the portal's own totals, and the state of each MAC (issue 16)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from typer.testing import CliRunner

from iptvsync.cli import app
from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.server import ServerThread
from iptvsync.fakes.stalker import DEFAULT_MAC, StalkerFakeConfig, create_app

runner = CliRunner()

VARIANTS: list[tuple[dict[str, Any], set[str]]] = [
    ({"family": "stock"}, {"itv", "vod"}),
    ({"family": "reseller"}, {"itv", "vod", "series"}),
    ({"family": "stock", "series_module": True, "season_shape": "dash"}, {"itv", "vod", "series"}),
    ({"family": "stock", "cookie_decode": False, "itv_filter": "category"}, {"itv", "vod"}),
    (
        {"family": "reseller", "vod_filter": "genre", "mac_from_query": False},
        {"itv", "vod", "series"},
    ),
]


@pytest.mark.parametrize(("fake", "modules"), VARIANTS)
def test_probe_lists_modules_with_the_portals_totals(
    fake: dict[str, Any], modules: set[str]
) -> None:
    catalogue = generate(seed=4, movies=50, series=10, channels=12)
    with ServerThread(create_app(catalogue, StalkerFakeConfig(**fake))) as server:
        out = runner.invoke(
            app,
            ["probe", "--url", f"{server.url}/c/", "--mac", DEFAULT_MAC],
            env={"COLUMNS": "200"},
        )
    assert out.exit_code == 0, out.output
    found = dict(re.findall(r"module (\w+)\s+│?\s*([\d,]+) \(portal's total\)", out.output))
    assert set(found) == modules, out.output
    adult = {k.id for k in catalogue.categories if k.censored}
    visible = sum(1 for c in catalogue.channels if c.category_id not in adult)
    assert int(found["itv"]) == visible  # the portal's "All" total, adult genres hidden
    assert re.search(r"MAC 00:1A:79:XX:XX:56\s+│?\s*ok \(expires 2027-03-05", out.output), (
        out.output
    )
    assert DEFAULT_MAC not in out.output
