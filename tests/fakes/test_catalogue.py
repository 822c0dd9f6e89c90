"""The fake catalogue generator: deterministic, realistic, fast, and mutable."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from iptvsync.fakes.catalogue import Catalogue, generate
from iptvsync.fakes.items import SERIES_ID_BASE, episode_owner, seasons


@pytest.fixture(scope="module")
def small() -> Catalogue:
    return generate(seed=7, movies=3_000, series=800, channels=500)


def test_same_seed_same_catalogue() -> None:
    a = generate(seed=11, movies=500, series=120, channels=90)
    b = generate(seed=11, movies=500, series=120, channels=90)
    assert a.categories == b.categories
    assert a.movies == b.movies
    assert a.series == b.series
    assert a.channels == b.channels
    assert [seasons(s) for s in a.series[:20]] == [seasons(s) for s in b.series[:20]]
    c = generate(seed=12, movies=500, series=120, channels=90)
    assert [m.name for m in a.movies] != [m.name for m in c.movies]


@pytest.mark.slow
def test_default_size_is_complete() -> None:
    # How fast it is generated is a benchmark's business (bench/), not a test's.
    cat = generate()
    assert cat.counts() == {
        "categories": 150,
        "channels": 5_000,
        "movies": 64_106,
        "series": 19_076,
    }
    movie_ids = {m.id for m in cat.movies}
    series_ids = {s.id for s in cat.series}
    assert len(movie_ids) == 64_106
    assert len(series_ids) == 19_076
    assert not movie_ids & series_ids  # Stalker stock serves both in one id space
    assert len({c.id for c in cat.channels}) == 5_000


def test_categories_are_realistic(small: Catalogue) -> None:
    by_kind = {k: small.categories_of(k) for k in ("channel", "movie", "series")}
    assert len(by_kind["movie"]) == 80
    assert len(by_kind["series"]) == 40
    assert len(by_kind["channel"]) == 30
    for kind, cats in by_kind.items():
        assert sum(c.censored for c in cats) == 1, kind
        ids = {c.id for c in cats}
        assert all(item.category_id in ids for item in small.items(kind))
    assert len({c.id for c in small.categories}) == len(small.categories)
    # skewed sizes: the biggest movie category is several times the median one
    sizes = sorted(len(small.by_category("movie", c.id)) for c in by_kind["movie"])
    assert sizes[-1] > 4 * sizes[len(sizes) // 2]
    adult = next(c for c in by_kind["movie"] if c.censored)
    assert 0 < len(small.by_category("movie", adult.id)) < 0.05 * len(small.movies)


def test_item_fields_are_realistic(small: Catalogue) -> None:
    poster = re.compile(r"^/t/p/w500/[0-9A-Za-z]{27}\.jpg$")
    posters = [m.poster for m in small.movies]
    assert all(p == "" or poster.match(p) for p in posters)
    assert len(set(posters)) > 0.9 * len(posters)
    assert all(1950 <= m.year <= 2026 for m in small.movies)
    ratings = [m.rating for m in small.movies]
    assert any(r is None for r in ratings)
    assert all(1.0 <= r <= 9.9 for r in ratings if r is not None)
    names = [m.name for m in small.movies] + [s.name for s in small.series]
    assert any("," in n for n in names)
    assert any('"' in n for n in names)
    assert any(any(ch in n for ch in "éèöüåñ") for n in names)
    assert all(m.added.tzinfo is not None for m in small.movies)
    span = max(m.added for m in small.movies) - min(m.added for m in small.movies)
    assert timedelta(days=4 * 365) < span <= timedelta(days=5 * 365 + 2)
    channels = small.channels
    assert [c.number for c in channels] == list(range(1, len(channels) + 1))
    assert all(c.logo == "" or c.logo == f"{c.id}.png" for c in channels)
    assert any(c.xmltv_id is None for c in channels) and any(c.xmltv_id for c in channels)
    assert any(c.archive and c.archive_days > 0 for c in channels)
    assert any(c.radio for c in channels)


def test_newest_first_orders_by_added_then_id(small: Catalogue) -> None:
    newest = small.newest_first("movie")
    keys = [(m.added, m.id) for m in newest]
    assert keys == sorted(keys, reverse=True)
    assert newest[0].id == max(m.id for m in small.movies)
    assert small.newest_first("movie") is newest  # cached


def test_seasons_are_derived_and_bounded(small: Catalogue) -> None:
    episode_ids: set[int] = set()
    for show in small.series[:200]:
        got = seasons(show)
        assert 1 <= len(got) <= 8
        assert [s.number for s in got] == list(range(1, len(got) + 1))
        position = 0
        for season in got:
            assert 6 <= len(season.episodes) <= 24
            assert [e.number for e in season.episodes] == list(range(1, len(season.episodes) + 1))
            for episode in season.episodes:
                assert episode_owner(episode.id) == (show.id, position)
                position += 1
                episode_ids.add(episode.id)
    assert min(episode_ids) > max(s.id for s in small.series)
    assert episode_owner(SERIES_ID_BASE) is None


def test_mutations() -> None:
    cat = generate(seed=3, movies=100, series=30, channels=40)
    revision = cat.revision
    before = cat.newest_first("movie")
    latest = max(m.added for m in cat.movies)
    added = cat.add_movies(5)
    assert [m.id for m in added] == list(range(101, 106))
    assert all(m.added > latest for m in added)
    assert cat.revision > revision
    newest = cat.newest_first("movie")
    assert newest is not before
    assert [m.id for m in newest[:5]] == [105, 104, 103, 102, 101]
    assert cat.get("movie", 103) is added[2]

    new_series = cat.add_series(2)
    assert [s.id for s in new_series] == [SERIES_ID_BASE + 30, SERIES_ID_BASE + 31]
    new_channels = cat.add_channels(3)
    assert [c.number for c in new_channels] == [41, 42, 43]

    assert cat.remove("movie", [1, 2, 999]) == 2
    assert cat.get("movie", 1) is None
    assert cat.add_movies(1)[0].id == 106  # ids are never reused
    assert cat.truncate("series", 10) == 22
    assert [s.id for s in cat.series] == [SERIES_ID_BASE + i for i in range(10)]
    assert cat.counts()["series"] == 10
    first_cat = cat.movies[0].category_id
    assert all(m.category_id == first_cat for m in cat.by_category("movie", first_cat))
    with pytest.raises(ValueError):
        cat.items("podcast")
