"""Seasons and episodes (docs/stalker.md §7.B stock is_series, §7.C reseller type=series)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from iptvsync.providers.stalker.parse.coerce import to_bool, to_int, to_str
from iptvsync.records import EpisodeRecord, SeasonRecord

_SEASON_PAIR = re.compile(r"^\s*\d+\s*:\s*(\d{1,9})\s*$")
_SEASON_WORD = re.compile(r"(?i)season\s*[-_ ]?(\d{1,9})(?!\d)")
# Numbers of at most 9 digits: int() refuses a text of over 4,300 (docs/reliability.md).
_SEASON_SUFFIX = re.compile(r"(?i)[-_:]s(\d{1,9})$")  # "20111-s1"


def season_number(row: Mapping[str, Any], fallback: int) -> int:
    """``"55:2"`` (XC 2.x), ``"season2"`` (some panels), ``season_number``, a "Season 2" name,
    "Specials" (0), else ``fallback`` (XC_VM puts the plain show id in ``id``)."""
    explicit = to_int(row.get("season_number"))
    if explicit is not None:
        return explicit
    sid = to_str(row.get("id")) or ""
    for pattern in (_SEASON_PAIR, _SEASON_WORD, _SEASON_SUFFIX):
        match = pattern.search(sid)
        if match:
            return int(match.group(1))
    for key in ("name", "o_name", "season_name"):
        text = to_str(row.get(key)) or ""
        match = _SEASON_WORD.search(text)
        if match:
            return int(match.group(1))
        if text.lower().startswith("special"):
            return 0
    return fallback


def _positions(value: Any) -> list[int]:
    if not isinstance(value, list):
        return []
    out: list[int] = []
    for item in value:
        number = to_int(item)
        if number is not None and number >= 0 and number not in out:
            out.append(number)
    return out


def parse_reseller_seasons(rows: Iterable[Mapping[str, Any]], show_id: str) -> list[SeasonRecord]:
    """Reseller ``type=series&movie_id=<show>`` rows (one per season, newest first) → seasons
    in ascending order. Episodes are the positions in ``series`` (1..k): the panel picks the
    k-th episode of the season at ``create_link&cmd=<season cmd>&series=k``."""
    seasons: dict[int, SeasonRecord] = {}
    row_list = list(rows)
    for index, row in enumerate(row_list):
        number = season_number(row, fallback=len(row_list) - index)
        cmd = to_str(row.get("cmd"))
        episodes = tuple(
            EpisodeRecord(
                provider_item_id=f"{show_id}:{number}:{position}",
                season=number,
                number=position,
                name=f"Episode {position}",
                cmd=cmd,
            )
            for position in _positions(row.get("series"))
        )
        name = to_str(row.get("name")) or ("Specials" if number == 0 else f"Season {number}")
        if number in seasons:  # merge duplicates rather than lose episodes
            known = {e.number for e in seasons[number].episodes}
            episodes = seasons[number].episodes + tuple(
                e for e in episodes if e.number not in known
            )
        seasons[number] = SeasonRecord(number=number, name=name, episodes=episodes)
    return [seasons[n] for n in sorted(seasons)]


@dataclass(frozen=True, slots=True)
class StockSeason:
    id: str
    number: int
    name: str


def parse_stock_seasons(rows: Iterable[Mapping[str, Any]]) -> list[StockSeason]:
    """Ministra ``type=vod&movie_id=<id>`` rows that are seasons (``is_season``), ascending.
    File rows (a movie that is not a series) are ignored."""
    out: dict[int, StockSeason] = {}
    for index, row in enumerate(rows):
        sid = to_str(row.get("id"))
        if sid is None or to_bool(row.get("is_file")) or to_bool(row.get("is_episode")):
            continue
        if not (to_bool(row.get("is_season")) or "season_number" in row):
            continue
        number = season_number(row, fallback=index + 1)
        name = to_str(row.get("season_name")) or to_str(row.get("name")) or f"Season {number}"
        out.setdefault(number, StockSeason(id=sid, number=number, name=name))
    return [out[n] for n in sorted(out)]


def parse_stock_episodes(
    rows: Iterable[Mapping[str, Any]], *, movie_id: str, season: StockSeason
) -> list[EpisodeRecord]:
    """Ministra episode rows (``is_episode``). The provider id carries the whole path
    ``<movie>:<season id>:<episode id>`` so play can list the episode's files later."""
    out: dict[int, EpisodeRecord] = {}
    for index, row in enumerate(rows):
        eid = to_str(row.get("id"))
        if eid is None or to_bool(row.get("is_file")) or to_bool(row.get("is_season")):
            continue
        number = to_int(row.get("series_number"))
        if number is None:
            match = re.search(r"(?i)episode\s*(\d{1,9})(?!\d)", to_str(row.get("name")) or "")
            number = int(match.group(1)) if match else index + 1
        name = to_str(row.get("series_name")) or to_str(row.get("name")) or f"Episode {number}"
        out.setdefault(
            number,
            EpisodeRecord(
                provider_item_id=f"{movie_id}:{season.id}:{eid}",
                season=season.number,
                number=number,
                name=name,
                cmd=to_str(row.get("cmd")),
            ),
        )
    return [out[n] for n in sorted(out)]


def parse_stock_files(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Cmds of an episode's files (``is_file`` rows), video files first."""
    videos: list[str] = []
    others: list[str] = []
    for row in rows:
        cmd = to_str(row.get("cmd")) or to_str(row.get("url"))
        if cmd is None:
            continue
        file_type = (to_str(row.get("file_type")) or "video").lower()
        (videos if file_type == "video" else others).append(cmd)
    return videos + others


def parse_season_rows(
    rows: Iterable[Mapping[str, Any]], show_id: str
) -> tuple[list[SeasonRecord], list[StockSeason]]:
    """Season rows of any shape, on any path: rows with a ``series`` list of positions
    (reseller ``"55:2"``, ``"20111-s1"``, ``"season2"``...) become seasons at once; ``is_season``
    / ``season_number`` rows (Ministra) are returned to be drilled into for their episodes.
    Episode and file rows are skipped."""
    positional: list[Mapping[str, Any]] = []
    stock: list[Mapping[str, Any]] = []
    for row in rows:
        if to_bool(row.get("is_file")) or to_bool(row.get("is_episode")):
            continue
        if to_bool(row.get("is_season")) or "season_number" in row:
            stock.append(row)
        elif _positions(row.get("series")):
            positional.append(row)
    return parse_reseller_seasons(positional, show_id), parse_stock_seasons(stock)
