"""The guide's fast path (``parse/guide_rows.py``: rows decoded by msgspec into structs of the
values the parse reads) against the plain one (orjson's dicts, ``parse_programme``): the same
programmes, in the same order, and the same counts of channels and broken rows, for the fake
portal's guides, hostile rows and Hypothesis' rows."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.stalker import FakeStalkerPortal, StalkerFakeConfig
from iptvsync.fakes.stalker import epg as fake_epg
from iptvsync.providers.stalker.guide_split import GuideDecoder
from iptvsync.providers.stalker.parse import guide_rows
from iptvsync.providers.stalker.parse.epg import parse_programme
from iptvsync.providers.stalker.parse.guide_rows import GuideRow
from iptvsync.records import ProgrammeRecord

BERLIN = ZoneInfo("Europe/Berlin")


def _decode(
    body: bytes, channels: Mapping[str, str], zone: tzinfo, loads: Any, size: int
) -> tuple[list[ProgrammeRecord], int, int]:
    decoder = GuideDecoder(channels, zone, loads)
    out: list[ProgrammeRecord] = []
    for i in range(0, len(body), size):
        out += decoder.feed(body[i : i + size])
    out += decoder.close()
    return out, decoder.seen, decoder.broken


def _outcome(
    body: bytes, channels: Mapping[str, str], zone: tzinfo, loads: Any, size: int
) -> tuple[list[ProgrammeRecord], int, int] | str:
    try:
        return _decode(body, channels, zone, loads, size)
    except Exception as exc:  # the same refusal both ways counts as the same answer
        return type(exc).__name__


def _both(
    body: bytes, channels: Mapping[str, str], zone: tzinfo = UTC, size: int = 4096
) -> tuple[list[ProgrammeRecord], int, int]:
    fast = _outcome(body, channels, zone, guide_rows.loads_run, size)
    plain = _outcome(body, channels, zone, orjson.loads, size)
    assert fast == plain
    assert not isinstance(fast, str), fast
    return fast


def _body(data: dict[str, Any]) -> bytes:
    """Compact, as portals write it; the standard library's, which writes integers past 64
    bits (orjson refuses them)."""
    doc = {"js": {"data": data}}
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


class _Reads(dict[str, Any]):
    """A row that notes every key the parse reads."""

    def __init__(self, row: dict[str, Any], seen: set[str]) -> None:
        super().__init__(row)
        self.seen = seen

    def get(self, key: str, default: Any = None) -> Any:
        self.seen.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.seen.add(key)
        return super().__getitem__(key)


def test_a_guide_row_holds_exactly_the_values_the_parse_reads() -> None:
    """A struct without a value the parse reads would read it as absent: every path of
    ``parse_programme`` (the common case, local times, a stop from the duration, broken)."""
    rows = [
        {"start_timestamp": 1_790_000_000, "stop_timestamp": 1_790_001_800, "name": "N"},
        {"time": "2026-12-07 20:00:00", "time_to": "2026-12-07 21:00:00", "descr": "d"},
        {"time": "2026-12-07 20:00:00", "duration": 1800, "category": "c"},
        {"start_timestamp": "x", "stop_timestamp": None, "time": "", "time_to": ""},
    ]
    seen: set[str] = set()
    for row in rows:
        parse_programme(_Reads(row, seen), "k", BERLIN)
    assert seen == set(GuideRow.__struct_fields__)


def test_unix_times_past_any_calendar_are_a_broken_programme_not_a_failed_guide() -> None:
    """``9000000000000000000`` raised from ``datetime.fromtimestamp`` and took the guide with it;
    now the row's local times are read instead, and without them it is broken. A duration past
    the calendar overflowed the same way (found by the Hypothesis test below)."""
    huge = {"start_timestamp": 9 * 10**18, "stop_timestamp": 9 * 10**18 + 1800, "name": "x"}
    assert parse_programme(huge, "k") is None
    with_times = {**huge, "time": "2026-12-07 20:00:00", "time_to": "2026-12-07 21:00:00"}
    record = parse_programme(with_times, "k", BERLIN)
    assert record is not None and record.start.hour == 19  # 20:00 in Berlin, in UTC
    endless = {"time": "2026-12-07 20:00:00", "duration": 10**15}  # overflowed the calendar
    assert parse_programme(endless, "k", BERLIN) is None
    rows = [huge, with_times, {"start_timestamp": 10**30, "stop_timestamp": 10**31}, endless]
    programmes, seen, broken = _both(_body({"1": rows}), {"1": "one"}, BERLIN)
    assert (len(programmes), seen, broken) == (1, 1, 3)


def _fake_guide(config: StalkerFakeConfig, zone: tzinfo) -> tuple[bytes, dict[str, str]]:
    portal = FakeStalkerPortal(generate(seed=3, movies=0, series=0, channels=150), config)
    portal.clock = lambda: 1_774_699_200.0  # type: ignore[method-assign]
    body = b"".join(p for p, _ in fake_epg.guide_parts(portal, portal.config, 72, zone))
    guided = [c for c in portal.catalogue.channels if c.xmltv_id]
    return body, {str(c.id): c.xmltv_id for c in guided[: len(guided) - 3]}


@pytest.mark.parametrize(
    "options",
    [{}, {"epg_timestamps": False}, {"epg_broken_every": 3}],
    ids=["timestamps", "local_times_only", "broken_rows"],
)
@pytest.mark.parametrize("size", [97, 65536])
def test_the_fake_portals_guides_read_the_same_both_ways(
    options: dict[str, Any], size: int
) -> None:
    body, channels = _fake_guide(StalkerFakeConfig(**options), BERLIN)
    programmes, seen, broken = _both(body, channels, BERLIN, size)
    assert len(programmes) > 1000 and seen > len(channels)
    assert (broken > 0) is ("epg_broken_every" in options)


HOSTILE: dict[str, dict[str, Any]] = {
    "rows_not_objects": {"1": [1, "x", None, [1], {"start_timestamp": 1_790_000_000}]},
    "channel_not_a_list": {"1": {"a": 1}, "2": None, "3": "x", "4": [{"name": "n"}]},
    "numbers_out_of_range": {
        "1": [{"start_timestamp": 2**64 + 5, "stop_timestamp": 2**65, "duration": 10**40}],
        "2": [{"start_timestamp": 1_790_000_000, "stop_timestamp": 1.5e300}],
    },
    "floats_and_texts": {
        "1": [
            {"start_timestamp": 1_790_000_000.0, "stop_timestamp": 1_790_001_800.5},
            {"start_timestamp": "1790000000", "stop_timestamp": "1790001800", "name": 5},
            {"start_timestamp": True, "stop_timestamp": 1_790_001_800},
        ]
    },
    "names_and_text": {
        "1": [
            {
                "start_timestamp": 1_790_000_000 + k * 600,
                "stop_timestamp": 1_790_000_600 + k * 600,
                "name": name,
                "descr": descr,
                "category": cat,
            }
            for k, (name, descr, cat) in enumerate(
                [
                    ("<b>Bold</b> &amp; co", "<p>x</p>", "News"),
                    ("x" * 600, "", ""),
                    ("  padded\t", None, ["a"]),
                    (None, {"k": 1}, 0),
                    ('quote " and ],"', "\u00e9\u65e5", "\u0000"),
                ]
            )
        ]
    },
    "nested_and_extra_keys": {
        "1": [
            {
                "id": "1",
                "start_timestamp": 1_790_000_000,
                "stop_timestamp": 1_790_001_800,
                "name": {"nested": [1, 2]},
                "director": "d",
                "actor": [],
                "START_TIMESTAMP": 5,
            }
        ]
    },
    # msgspec keeps every digit of a whole number; orjson makes one past 64 bits a float
    # (and ``str`` of it another title). Each channel here is followed by another, so that
    # its run is cut and decoded as a struct, not left to the answer's tail.
    "numbers_past_64_bits": {
        "1": [
            {
                "start_timestamp": 1_790_000_000,
                "stop_timestamp": 1_790_001_800,
                "name": 2**65,
                "descr": 2**63,
                "category": -(2**63) - 1,
            }
        ],
        "2": [{"start_timestamp": 2**63, "stop_timestamp": 2**64 - 1, "time": 2**64 + 1}],
        "3": [{"start_timestamp": 1_790_000_000, "stop_timestamp": 1_790_000_600, "name": 7}],
        "4": [],
    },
    "values_that_are_containers": {
        "1": [
            {
                "start_timestamp": 1_790_000_000,
                "stop_timestamp": 1_790_001_800,
                "name": ["a", 1],
                "descr": {"k": [2**65]},
            }
        ],
        "2": [],
    },
    "times_out_of_order": {
        "1": [
            {"start_timestamp": 1_790_001_800, "stop_timestamp": 1_790_000_000},
            {"start_timestamp": 1_790_000_000, "stop_timestamp": 1_790_000_000 + 3 * 86400},
            {"start_timestamp": 100, "stop_timestamp": 200},
        ]
    },
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_rows_read_the_same_both_ways(name: str) -> None:
    data = HOSTILE[name]
    _both(_body(data), {k: f"ch{k}" for k in data}, BERLIN, 16)


def _huge(key: str) -> bytes:
    huge = b"1" + b"0" * 400  # infinite as a float
    return (
        b'{"js":{"data":{"1":[{"start_timestamp":1790000000,"stop_timestamp":1790001800,"'
        + key.encode()
        + b'":'
        + huge
        + b'}],"2":[{"start_timestamp":1790000000,"stop_timestamp":1790000600}],"3":[]}}}'
    )


@pytest.mark.parametrize("size", [16, 1 << 16])
def test_a_number_past_a_floats_range_where_it_is_read_is_refused_both_ways(size: int) -> None:
    """orjson refuses ``1`` and 400 zeros (infinite as a float), and the struct refuses it
    where the parse reads it: the run goes to orjson, and the answer is refused both ways."""
    channels = {"1": "a", "2": "b"}
    fast = _outcome(_huge("name"), channels, UTC, guide_rows.loads_run, size)
    assert fast == _outcome(_huge("name"), channels, UTC, orjson.loads, size)
    assert fast == "ProviderBadResponse"


@pytest.mark.parametrize("size", [16, 1 << 16])
def test_a_number_past_a_floats_range_where_it_is_not_read_is_the_one_difference(
    size: int,
) -> None:
    """The one difference, on purpose (``guide_rows``' docstring): in a key the parse skips,
    msgspec never reads the number and the guide is read; orjson refuses the text, and the
    plain path the answer. JSON itself sets no limit on numbers."""
    channels = {"1": "a", "2": "b"}
    fast = _outcome(_huge("id"), channels, UTC, guide_rows.loads_run, size)
    assert _outcome(_huge("id"), channels, UTC, orjson.loads, size) == "ProviderBadResponse"
    assert not isinstance(fast, str)
    programmes, seen, broken = fast
    assert [p.channel_key for p in programmes] == ["a", "b"] and (seen, broken) == (3, 0)


def test_nesting_past_the_decoders_depth_reads_the_same_both_ways() -> None:
    """msgspec raised RecursionError on 2,000 nested lists, which no caller expects: the run
    goes to orjson, which refuses it as the plain path does; 600 are read both ways."""
    for depth in (600, 2000):
        nested = b"[" * depth + b"]" * depth
        body = (
            b'{"js":{"data":{"1":[{"start_timestamp":1790000000,"stop_timestamp":1790001800,'
            b'"id":' + nested + b'}],"2":[]}}}'
        )
        for size in (64, 1 << 16):
            fast = _outcome(body, {"1": "a"}, UTC, guide_rows.loads_run, size)
            assert fast == _outcome(body, {"1": "a"}, UTC, orjson.loads, size)
            assert isinstance(fast, str) is (depth == 2000)


def test_a_duplicated_key_reads_the_same_both_ways() -> None:
    """JSON's last value wins in both decoders."""
    body = (
        b'{"js":{"data":{"1":[{"start_timestamp":5,"start_timestamp":1790000000,'
        b'"stop_timestamp":1790001800,"name":"a","name":"b"}],"2":[]}}}'
    )
    programmes, _, _ = _both(body, {"1": "one", "2": "two"})
    assert [p.title for p in programmes] == ["b"]


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=1_700_000_000, max_value=1_700_200_000),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=" <&>:-0123456789aZ\u00e9", max_size=22),
    st.sampled_from(["2026-12-07 20:00:00", "2026-03-29 02:30:00", "1800", "0000-00-00 00:00:00"]),
    st.lists(st.integers(0, 3), max_size=2),
)
_KEYS = [*GuideRow.__struct_fields__, "id", "t_time"]
_ROWS = st.one_of(
    st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=len(_KEYS)),
    _VALUES,  # a row that is not an object
)


@given(st.dictionaries(st.sampled_from(["1", "2", "3"]), st.lists(_ROWS, max_size=5)))
def test_any_rows_read_the_same_both_ways(data: dict[str, Any]) -> None:
    _both(_body(data), {k: f"ch{k}" for k in data}, BERLIN, 23)


def test_switched_off_the_plain_decode_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """``IPTVSYNC_COMPILED=0`` (the benchmarks' switch) gives orjson's dicts; else structs,
    chosen where the guide's first bytes are decoded."""
    head = b'{"js":{"data":{'
    monkeypatch.setenv("IPTVSYNC_COMPILED", "0")
    decoder = GuideDecoder({}, UTC)
    assert decoder.loads is None  # nothing decoded yet: nothing chosen
    decoder.pairs(head)
    assert decoder.loads is orjson.loads
    monkeypatch.setenv("IPTVSYNC_COMPILED", "1")
    decoder = GuideDecoder({"1": "one"}, UTC)
    decoder.pairs(head)
    assert decoder.loads is guide_rows.loads_run
    run = guide_rows.loads_run(b'{"1":[{"name":"n","id":"7"}]}')
    assert run == {"1": [GuideRow(name="n")]}
    assert msgspec.structs.asdict(run["1"][0])["name"] == "n"
    with pytest.raises(orjson.JSONDecodeError):
        guide_rows.loads_run(b'{"1":[{"name":"a],"')  # a cut inside a string


def test_a_sync_starts_without_msgspec() -> None:
    """The guide's module is imported at a sync's start; msgspec only where a guide is
    decoded (a fresh interpreter, as the CLI's)."""
    import subprocess
    import sys

    code = (
        "import sys, iptvsync.providers.stalker.client, iptvsync.providers.stalker.guide_split;"
        "print('msgspec' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
