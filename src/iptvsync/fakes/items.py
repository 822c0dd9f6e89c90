"""What a fake catalogue holds: its records, id spaces and the seasons derived from a series.

Id spaces: movies ``1..``, series ``10_000_000..`` (Stalker stock serves series as VOD items with
``is_series=1`` in the movies' id space, so they must never collide), channels ``1..``,
episodes ``20_000_000..`` (derived from the series id). Category ids are unique across kinds,
as in an Xtream panel's single ``stream_categories`` table.

Seasons and episodes are not stored: ``seasons(series)`` derives them from the series id on
demand, so a default catalogue (64k movies, 19k series) costs tens of megabytes, not gigabytes
of episode objects.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

KindName = Literal["channel", "movie", "series"]
KINDS: tuple[KindName, ...] = ("channel", "movie", "series")

MOVIE_ID_BASE = 1
SERIES_ID_BASE = 10_000_000
CHANNEL_ID_BASE = 1
EPISODE_ID_BASE = 20_000_000
_EPISODES_PER_SERIES_MAX = 200  # 8 seasons x 24 episodes fits; used to derive episode ids

# The catalogue's "now": generated dates end here, additions continue after it.
CATALOGUE_END = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
CATALOGUE_SPAN = timedelta(days=5 * 365)

#: File extensions of movies and episodes (weighted: mp4 is the most common).
EXTENSIONS = ("mp4", "mp4", "mp4", "mkv", "mkv", "avi")
# fmt: off
_EPISODE_WORDS = (
    "Pilot", "The Return", "Homecoming", "Crossroads", "Aftermath", "The Offer", "Blood Ties",
    "Fault Lines", "Point of No Return", "Reunion", "Exposure", "The Long Night", "Checkmate",
    "Ghosts", "Leverage", "Endgame", "New Blood", "Sins of the Father", "Trust", "The Visit",
    "Breaking Point", "Smoke & Mirrors", "Revelations", "Finale",
)
# fmt: on


# ---------------------------------------------------------------------------------------------
# records


@dataclass(slots=True)
class FakeCategory:
    id: int
    kind: str  # "channel" | "movie" | "series"
    title: str
    censored: bool


@dataclass(slots=True)
class FakeChannel:
    id: int
    name: str
    number: int
    logo: str  # bare file name like "153.png", or "" for none
    category_id: int
    xmltv_id: str | None
    archive: bool
    archive_days: int
    radio: bool
    added: datetime


@dataclass(slots=True)
class FakeMovie:
    id: int
    name: str
    year: int
    rating: float | None
    poster: str  # "/t/p/w500/<27 base62>.jpg", or "" for none
    category_id: int
    added: datetime  # UTC aware
    description: str
    director: str
    actors: str
    genres: str
    duration_min: int
    extension: str


@dataclass(slots=True)
class FakeSeries:
    id: int
    name: str
    year: int
    rating: float | None
    poster: str
    category_id: int
    added: datetime
    description: str
    genres: str


@dataclass(slots=True)
class FakeEpisode:
    id: int
    number: int
    name: str
    extension: str


@dataclass(slots=True)
class FakeSeason:
    number: int
    name: str
    episodes: list[FakeEpisode]


FakeItem = FakeChannel | FakeMovie | FakeSeries


# ---------------------------------------------------------------------------------------------
# seasons and episodes: derived, never stored


def seasons(series: FakeSeries) -> list[FakeSeason]:
    """The seasons of a series: 1–8 seasons of 6–24 episodes, a pure function of its id."""
    rng = random.Random(series.id * 2_654_435_761 % (1 << 61))
    n_seasons = 1 + min(7, int(rng.expovariate(0.55)))
    ext = rng.choice(EXTENSIONS)
    base_id = EPISODE_ID_BASE + (series.id - SERIES_ID_BASE) * _EPISODES_PER_SERIES_MAX
    out: list[FakeSeason] = []
    seq = 0
    for number in range(1, n_seasons + 1):
        episodes = []
        for ep in range(1, rng.randint(6, 24) + 1):
            title = rng.choice(_EPISODE_WORDS)
            episodes.append(FakeEpisode(id=base_id + seq, number=ep, name=title, extension=ext))
            seq += 1
        out.append(FakeSeason(number=number, name=f"Season {number}", episodes=episodes))
    return out


def episode_owner(episode_id: int) -> tuple[int, int] | None:
    """(series id, position within the series) for an episode id, or None if not one."""
    if episode_id < EPISODE_ID_BASE:
        return None
    local, position = divmod(episode_id - EPISODE_ID_BASE, _EPISODES_PER_SERIES_MAX)
    return SERIES_ID_BASE + local, position
