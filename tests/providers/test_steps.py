"""Decoders in steps (``providers/steps.py``): the same result driven at once or on the event
loop, and on the loop other work runs between the steps."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from iptvsync.errors import ProviderError
from iptvsync.providers.stalker import parse
from iptvsync.providers.stalker.parse.channels import CHANNEL_STEP
from iptvsync.providers.stalker.parse.urls import PortalUrls
from iptvsync.providers.steps import Steps, run_steps, run_steps_async

URLS = PortalUrls.from_endpoint("http://portal.test/stalker_portal/server/load.php")


def counting(n: int) -> Steps[int]:
    total = 0
    for i in range(n):
        total += i
        yield
    return total


def channel_list(count: int) -> bytes:
    rows = [
        {"id": i, "name": f"Channel {i}", "number": i, "tv_genre_id": "3"} for i in range(count)
    ]
    return orjson.dumps({"js": {"total_items": count, "data": rows}})


def test_run_steps_returns_the_decoders_result() -> None:
    assert run_steps(counting(5)) == 10
    assert run_steps(counting(0)) == 0


async def test_on_the_loop_other_work_runs_between_the_steps() -> None:
    turns: list[int] = []

    async def other() -> None:
        for n in range(1000):
            turns.append(n)
            await asyncio.sleep(0)

    beside = asyncio.create_task(other())
    seen: list[int] = []

    def watched() -> Steps[int]:
        for _ in range(5):
            seen.append(len(turns))
            yield
        return 7

    assert await run_steps_async(watched()) == 7
    beside.cancel()
    assert seen == sorted(seen) and seen[-1] - seen[0] >= 4  # the other task ran in between


async def test_the_channel_list_in_steps_is_the_list_at_once() -> None:
    body = channel_list(5 * CHANNEL_STEP + 3)
    pauses = 0
    steps = parse.channel_stream_steps(body, URLS)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            stepped = done.value
            break
        pauses += 1
    assert pauses == 5  # one every CHANNEL_STEP rows
    assert stepped == parse.parse_channel_stream(body, URLS)
    assert [r.provider_item_id for r in stepped] == [str(i) for i in range(5 * CHANNEL_STEP + 3)]
    assert await run_steps_async(parse.channel_stream_steps(body, URLS)) == stepped


@pytest.mark.parametrize("body", [b"", b"Authorization failed.", b'{"js":{"data":[{"id":1},'])
async def test_a_bad_list_fails_the_same_way_in_steps(body: bytes) -> None:
    with pytest.raises(ProviderError) as at_once:
        parse.parse_channel_stream(body, URLS)
    with pytest.raises(ProviderError) as in_steps:
        await run_steps_async(parse.channel_stream_steps(body, URLS))
    assert type(in_steps.value) is type(at_once.value)
    assert in_steps.value.message == at_once.value.message
