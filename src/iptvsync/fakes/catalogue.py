"""A deterministic fake IPTV catalogue shared by the fake Stalker, Xtream and M3U providers.

``generate(seed)`` builds categories, channels, movies and series that look like a real
reseller catalogue (skewed category sizes, an adult category per kind, names with commas,
accents and quotes, TMDB-like poster paths, ``added`` dates spread over about five years with
the newest ids the newest). The same seed gives the same catalogue, byte for byte; nothing reads
the clock. Seasons and episodes are not stored: ``seasons(series)`` derives them from the series
id on demand, so a default catalogue (64k movies, 19k series) costs tens of megabytes, not
gigabytes of episode objects.

Id spaces: movies ``1..``, series ``10_000_000..`` (Stalker stock serves series as VOD items with
``is_series=1`` in the movies' id space, so they must never collide), channels ``1..``,
episodes ``20_000_000..`` (derived from the series id). Category ids are unique across kinds,
as in an Xtream panel's single ``stream_categories`` table.

Catalogues are mutable (``add_movies``, ``remove``, ``truncate``...) so tests and benchmarks
can play "the provider added 40 titles" or "the provider lost most of its catalogue".
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

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

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


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
# word lists (small on purpose; combinations give the variety)


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    return tuple(text.split(sep))


_ADJ = _words(
    "Silent Broken Last Golden Hidden Dark Lost Endless Wild Final Bitter Crimson Frozen Burning "
    "Secret Little Perfect Savage Quiet Electric Hollow Shattered Velvet Iron Midnight Northern "
    "Forgotten Blind Restless Sweet Lonely Brave Fallen Strange Deadly Eternal Sacred Rising "
    "Scarlet Wicked Gentle Distant Hungry Lucky Crooked Pale Empty Bright Rogue"
)
_NOUN = _words(
    "River Kingdom Stranger Garden Promise Shadow Empire Island Winter Summer Horizon Border "
    "Witness Hunter Station Harbor Letter Mirror Storm Protocol Legacy Fortune Signal Orchard "
    "Journey Frontier Mountain Highway Cathedral Circus Detective Soldier Widow Daughter Brother "
    "Castle Forest Desert Ocean Engine Prophet Dragon Falcon Bridge Machine Heart Crown Code "
    "Affair Reckoning Paradise Carnival Voyage Hour Game Night"
)
_PLACE = _words(
    "Paris|Berlin|Tokyo|Havana|Montréal|São Paulo|Kraków|Reykjavík|Istanbul|Marrakech|Lisbon|"
    "Sevilla|Zürich|Kyiv|Brooklyn|Memphis|Dublin|Napoli|Göteborg|Cairo|New York",
    sep="|",
)
_FIRST = _words(
    "Amélie Zoë José Chloé Björn Søren Renée Inés François Łukasz Anna John Maria David Sarah "
    "Michael Laura James Emma Daniel Olivia Lucas Sofía Mateo Noémie Jürgen Ayşe Mehmet Priya "
    "Rahul Yuki Hiro Fatima Omar Elena Ivan Nadia Pedro Lucía Hélène Raphaël Agnès Håkon Clara "
    "Thomas Julia Marco Giulia Kateřina"
)
_LAST = _words(
    "Martin Smith García Müller Rossi Dubois Nowak Johansson O'Brien Kowalski Fernández Novák "
    "Anderson Moreau Schmidt Bianchi Silva Yamamoto Kim Nguyen Haddad Petrov Jensen Lefèvre "
    "Santos Walker Brown Taylor Wilson Clarke Byrne Costa Öztürk Horváth Lindqvist Mendes"
)
_FOREIGN = _words(
    "La Belle Époque|Le Dîner|El Laberinto|Der Himmel|Das Boot|La Dolce Vita|Les Misérables|"
    "El Niño|Cría Cuervos|Die Brücke|Le Mépris|La Haine|Amores Perros|Jeux d'enfants|"
    "Ça commence aujourd'hui|Smultronstället|Påskeøen|Ölümsüz|Człowiek z marmuru|Zâr",
    sep="|",
)
_GENRES = _words(
    "Drama Comedy Thriller Action Crime Romance Horror Adventure Animation Documentary Family "
    "Fantasy Mystery War Western Biography History Music Sport Science-Fiction"
)
_VERBS = _words(
    "must face|discovers|fights for|returns to|runs from|uncovers|falls for|is haunted by|"
    "sets out to find|is trapped in|inherits|betrays|protects|loses",
    sep="|",
)
_WHO = _words(
    "A retired detective|Two estranged sisters|A young nurse|An ambitious lawyer|A small-town "
    "mayor|A reluctant hero|A grieving father|A gifted hacker|An aging boxer|A team of thieves|"
    "A lonely astronaut|A stubborn chef",
    sep="|",
)
_EPISODE_WORDS = _words(
    "Pilot|The Return|Homecoming|Crossroads|Aftermath|The Offer|Blood Ties|Fault Lines|"
    "Point of No Return|Reunion|Exposure|The Long Night|Checkmate|Ghosts|Leverage|Endgame|"
    "New Blood|Sins of the Father|Trust|The Visit|Breaking Point|Smoke & Mirrors|Revelations|"
    "Finale",
    sep="|",
)
_BRAND_A = _words(
    "Star Global Prime Nova Metro Sky Blue Royal City Planet Alpha Vision Max Euro Star Sun "
    "Polar Grand Zen Fox Eagle Atlas Delta Mega Orbit Pulse Wave Crystal Ocean Summit"
)
_BRAND_B = _words(
    "TV|News|Sport|Sports|Cinema|Movies|Kids|Music|Life|Discovery|Channel|One|Plus|Action|"
    "Comedy|Drama|Classic|Family|Nature|History|Arena|Live|Info|Radio|Style|Food|Travel",
    sep="|",
)
_QUALITY = ("", "", "", " HD", " HD", " FHD", " SD", " 4K", " ᴴᴰ", " ᶠᴴᴰ", " HEVC", " (backup)")
_EXTENSIONS = ("mp4", "mp4", "mp4", "mkv", "mkv", "avi")

# (title, name prefix); one censored entry per kind, always last
_CHANNEL_GENRES = (
    ("USA | NEWS", "US"),
    ("USA | SPORTS", "US"),
    ("USA | ENTERTAINMENT", "US"),
    ("UK | GENERAL", "UK"),
    ("UK | SPORTS", "UK"),
    ("CANADA", "CA"),
    ("FRANCE", "FR"),
    ("DEUTSCHLAND", "DE"),
    ("ESPAÑA", "ES"),
    ("ITALIA", "IT"),
    ("PORTUGAL", "PT"),
    ("NEDERLAND", "NL"),
    ("TÜRKİYE", "TR"),
    ("POLSKA", "PL"),
    ("ARABIC", "AR"),
    ("INDIA", "IN"),
    ("PAKISTAN", "PK"),
    ("LATINO", "LAT"),
    ("BRASIL", "BR"),
    ("KIDS", "EN"),
    ("MUSIC", "EN"),
    ("DOCUMENTARY", "EN"),
    ("NEWS INTERNATIONAL", "INT"),
    ("SPORTS PPV", "PPV"),
    ("24/7 CHANNELS", "24/7"),
    ("RADIO", "RADIO"),
    ("SCANDINAVIA", "SE"),
    ("ΕΛΛΑΔΑ", "GR"),
    ("4K UHD", "4K"),
    ("FOR ADULTS", "XXX"),
)
_VOD_LANGS = (
    "EN",
    "FR",
    "DE",
    "ES",
    "IT",
    "PT",
    "NL",
    "TR",
    "AR",
    "PL",
    "IN",
    "LAT",
    "SE",
    "RU",
    "GR",
    "KIDS",
)
_MOVIE_SECTIONS = (
    "ACTION",
    "COMEDY",
    "DRAMA",
    "THRILLER",
    "HORROR",
    "LATEST",
    "NETFLIX",
    "4K",
    "CLASSICS",
    "FAMILY",
)
_SERIES_SECTIONS = ("NETFLIX SERIES", "TV SHOWS", "HBO", "DOCUMENTARIES", "ANIME")


# ---------------------------------------------------------------------------------------------
# the catalogue


class Catalogue:
    """Categories and items of every kind, with cached orderings.

    ``revision`` grows on every change; consumers that cache derived data (page lists, indexes)
    compare it to know when to rebuild.
    """

    def __init__(self, seed: int = 42) -> None:
        self.seed = seed
        self.categories: list[FakeCategory] = []
        self.channels: list[FakeChannel] = []
        self.movies: list[FakeMovie] = []
        self.series: list[FakeSeries] = []
        self.revision = 0
        self._rng = random.Random(seed)
        self._next_id = {
            "channel": CHANNEL_ID_BASE,
            "movie": MOVIE_ID_BASE,
            "series": SERIES_ID_BASE,
        }
        self._latest = CATALOGUE_END
        self._index: dict[str, dict[int, Any]] = {}
        self._newest: dict[str, list[Any]] = {}
        self._by_cat: dict[str, dict[int, list[Any]]] = {}
        self._cat_pick: dict[str, tuple[list[int], list[float], float]] = {}
        self._cat_index: dict[int, FakeCategory] = {}

    # -- reading ------------------------------------------------------------------------------

    def items(self, kind: str) -> list[Any]:
        """The live list of one kind, in id order. Do not mutate it; use the methods."""
        kind = _kind(kind)
        if kind == "channel":
            return self.channels
        if kind == "movie":
            return self.movies
        return self.series

    def get(self, kind: str, item_id: int) -> Any:
        """The item of ``kind`` with ``item_id``, or None."""
        kind = _kind(kind)
        index = self._index.get(kind)
        if index is None:
            index = self._index[kind] = {item.id: item for item in self.items(kind)}
        return index.get(int(item_id))

    def get_category(self, category_id: int) -> FakeCategory | None:
        if len(self._cat_index) != len(self.categories):
            self._cat_index = {c.id: c for c in self.categories}
        return self._cat_index.get(int(category_id))

    def categories_of(self, kind: str) -> list[FakeCategory]:
        kind = _kind(kind)
        return [c for c in self.categories if c.kind == kind]

    def newest_first(self, kind: str) -> list[Any]:
        """Items sorted by ``added`` descending, then id descending (cached until a change)."""
        kind = _kind(kind)
        cached = self._newest.get(kind)
        if cached is None:
            cached = sorted(self.items(kind), key=_added_key, reverse=True)
            self._newest[kind] = cached
        return cached

    def by_category(self, kind: str, category_id: int) -> list[Any]:
        """Items of one category, in id order (cached until a change)."""
        kind = _kind(kind)
        groups = self._by_cat.get(kind)
        if groups is None:
            groups = {}
            for item in self.items(kind):
                groups.setdefault(item.category_id, []).append(item)
            self._by_cat[kind] = groups
        return groups.get(int(category_id), [])

    def counts(self) -> dict[str, int]:
        return {
            "categories": len(self.categories),
            "channels": len(self.channels),
            "movies": len(self.movies),
            "series": len(self.series),
        }

    # -- changing -----------------------------------------------------------------------------

    def add_movies(self, n: int) -> list[FakeMovie]:
        """Append ``n`` new movies with fresh ids and the newest ``added`` dates."""
        made = [_make_movie(self, self._take_id("movie"), self._next_added()) for _ in range(n)]
        self.movies.extend(made)
        self._changed()
        return made

    def add_series(self, n: int) -> list[FakeSeries]:
        made = [_make_series(self, self._take_id("series"), self._next_added()) for _ in range(n)]
        self.series.extend(made)
        self._changed()
        return made

    def add_channels(self, n: int) -> list[FakeChannel]:
        made = []
        number = max((c.number for c in self.channels), default=0)
        for _ in range(n):
            number += 1
            made.append(_make_channel(self, self._take_id("channel"), number, self._next_added()))
        self.channels.extend(made)
        self._changed()
        return made

    def add(self, kind: str, n: int) -> list[Any]:
        kind = _kind(kind)
        if kind == "channel":
            return self.add_channels(n)
        if kind == "movie":
            return self.add_movies(n)
        return self.add_series(n)

    def remove(self, kind: str, ids: Iterable[int]) -> int:
        """Remove items by id; returns how many existed. Ids are never reused."""
        kind = _kind(kind)
        gone = {int(i) for i in ids}
        items = self.items(kind)
        kept = [item for item in items if item.id not in gone]
        removed = len(items) - len(kept)
        items[:] = kept
        if removed:
            self._changed()
        return removed

    def truncate(self, kind: str, keep: int) -> int:
        """Keep only the ``keep`` oldest items (lowest ids) of a kind; returns how many went."""
        kind = _kind(kind)
        items = self.items(kind)
        removed = max(0, len(items) - max(0, keep))
        if removed:
            del items[max(0, keep) :]
            self._changed()
        return removed

    # -- internals ----------------------------------------------------------------------------

    def _changed(self) -> None:
        self.revision += 1
        self._index.clear()
        self._newest.clear()
        self._by_cat.clear()

    def _take_id(self, kind: str) -> int:
        item_id = self._next_id[kind]
        self._next_id[kind] = item_id + 1
        return item_id

    def _next_added(self) -> datetime:
        # Additions are strictly newer than everything before, a minute apart, so an
        # incremental walk by "added" sees them first.
        self._latest += timedelta(minutes=1)
        return self._latest

    def _pick_category(self, kind: str) -> int:
        if kind not in self._cat_pick:
            _make_categories(self, self._rng)
        ids, cum, total = self._cat_pick[kind]
        return ids[bisect.bisect_right(cum, self._rng.random() * total)]


def _kind(kind: str) -> str:
    k = str(kind).lower()
    if k in ("channel", "channels", "itv", "live"):
        return "channel"
    if k in ("movie", "movies", "vod"):
        return "movie"
    if k == "series":
        return "series"
    raise ValueError(f"unknown kind {kind!r}")


def _added_key(item: Any) -> tuple[datetime, int]:
    return (item.added, item.id)


# ---------------------------------------------------------------------------------------------
# seasons and episodes: derived, never stored


def seasons(series: FakeSeries) -> list[FakeSeason]:
    """The seasons of a series: 1–8 seasons of 6–24 episodes, a pure function of its id."""
    rng = random.Random(series.id * 2_654_435_761 % (1 << 61))
    n_seasons = 1 + min(7, int(rng.expovariate(0.55)))
    ext = rng.choice(_EXTENSIONS)
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


# ---------------------------------------------------------------------------------------------
# generation


def generate(
    seed: int = 42, movies: int = 64_106, series: int = 19_076, channels: int = 5_000
) -> Catalogue:
    """A deterministic catalogue: the same seed and sizes give the same catalogue."""
    cat = Catalogue(seed)
    rng = cat._rng
    _make_categories(cat, rng)
    end = CATALOGUE_END
    start = end - CATALOGUE_SPAN
    ids = {"channel": CHANNEL_ID_BASE, "movie": MOVIE_ID_BASE, "series": SERIES_ID_BASE}

    for kind, count in (("channel", channels), ("movie", movies), ("series", series)):
        stamps = _import_batches(rng, count, start, end)
        items = cat.items(kind)
        base = ids[kind]
        if kind == "channel":
            for i in range(count):
                items.append(_make_channel(cat, base + i, i + 1, stamps[i]))
        elif kind == "movie":
            for i in range(count):
                items.append(_make_movie(cat, base + i, stamps[i]))
        else:
            for i in range(count):
                items.append(_make_series(cat, base + i, stamps[i]))
        cat._next_id[kind] = base + count
        _ensure_adult_item(cat, kind)
    cat._latest = end
    return cat


def _ensure_adult_item(cat: Catalogue, kind: str) -> None:
    # Small catalogues could draw no adult item at 1.5%; every kind should have one to test
    # "hidden from All" with.
    items = cat.items(kind)
    adult = cat._cat_pick[kind][0][-1]
    if len(items) < 10 or any(item.category_id == adult for item in items):
        return
    item = items[len(items) // 2]
    item.category_id = adult
    if isinstance(item, FakeChannel):
        item.name = "XXX: " + item.name.split(": ", 1)[-1]


def _import_batches(rng: random.Random, n: int, start: datetime, end: datetime) -> list[datetime]:
    """Non-decreasing ``added`` stamps: panels import titles in batches sharing a second."""
    if n <= 0:
        return []
    span = (end - start).total_seconds()
    marks: list[float] = []
    t = 0.0
    while len(marks) < n:
        size = rng.randint(1, 30)
        t += size * rng.uniform(0.3, 1.7)
        marks.extend([t] * size)
    del marks[n:]
    scale = span / marks[-1]
    return [start + timedelta(seconds=int(m * scale)) for m in marks]


def _make_categories(cat: Catalogue, rng: random.Random) -> None:
    next_id = 1
    titles: dict[str, list[tuple[str, bool]]] = {
        "channel": [(t, t == "FOR ADULTS") for t, _ in _CHANNEL_GENRES],
        "movie": [],
        "series": [],
    }
    movie_titles = [f"{lang} | {sec}" for lang in _VOD_LANGS for sec in _MOVIE_SECTIONS]
    rng.shuffle(movie_titles)
    titles["movie"] = [(t, False) for t in sorted(movie_titles[:79])] + [("XXX | ADULTS", True)]
    series_titles = [f"{lang} | {sec}" for lang in _VOD_LANGS for sec in _SERIES_SECTIONS]
    rng.shuffle(series_titles)
    titles["series"] = [(t, False) for t in sorted(series_titles[:39])] + [
        ("XXX | ADULT SERIES", True)
    ]
    for kind in KINDS:
        ids: list[int] = []
        weights: list[float] = []
        plain = [(t, c) for t, c in titles[kind] if not c]
        order = list(range(len(plain)))
        rng.shuffle(order)  # skewed sizes, but not in alphabetical order
        for pos, (title, censored) in enumerate(titles[kind]):
            cat.categories.append(FakeCategory(next_id, kind, title, censored))
            ids.append(next_id)
            # Zipf-like sizes; the adult category holds about 1.5% of a kind.
            weights.append(0.0 if censored else 1.0 / (order[pos] + 1) ** 0.8)
            next_id += 1
        total_plain = sum(weights)
        weights[-1] = total_plain * 0.015 / 0.985
        cum: list[float] = []
        acc = 0.0
        for w in weights:
            acc += w
            cum.append(acc)
        cat._cat_pick[kind] = (ids, cum, acc)


def _choice(rng: random.Random, seq: Sequence[str]) -> str:
    # random.choice costs twice as much (rejection sampling); bias is irrelevant here.
    return seq[int(rng.random() * len(seq))]


def _poster(rng: random.Random) -> str:
    if rng.random() < 0.03:
        return ""
    return "/t/p/w500/" + "".join(rng.choices(_BASE62, k=27)) + ".jpg"


def _rating(rng: random.Random) -> float | None:
    if rng.random() < 0.08:
        return None
    return min(9.9, max(1.0, round(rng.gauss(6.4, 1.2), 1)))


def _year(rng: random.Random) -> int:
    return max(1950, 2026 - int(abs(rng.gauss(0, 14))))


def _title(rng: random.Random) -> str:
    r = rng.random()

    def ch(seq: Sequence[str]) -> str:
        return seq[int(rng.random() * len(seq))]

    if r < 0.18:
        name = f"The {ch(_ADJ)} {ch(_NOUN)}"
    elif r < 0.30:
        name = f"{ch(_NOUN)} of {ch(_PLACE)}"
    elif r < 0.40:
        name = f"{ch(_FIRST)}'s {ch(_NOUN)}"
    elif r < 0.47:
        name = f"{ch(_NOUN)}, {ch(_NOUN)} and {ch(_NOUN)}"
    elif r < 0.52:
        name = f"Goodbye, {ch(_FIRST)}"
    elif r < 0.58:
        name = f'The "{ch(_ADJ)}" {ch(_NOUN)}'
    elif r < 0.66:
        name = f"{ch(_NOUN)}: {ch(_ADJ)} {ch(_NOUN)}"
    elif r < 0.72:
        name = ch(_FOREIGN)
    elif r < 0.78:
        name = f"{ch(_FIRST)} {ch(_LAST)}"
    elif r < 0.86:
        name = f"{ch(_ADJ)} {ch(_NOUN)}"
    else:
        name = f"{ch(_NOUN)} in {ch(_PLACE)}"
    s = rng.random()
    if s < 0.05:
        name += f" {rng.randint(2, 4)}"
    elif s < 0.07:
        name += ": Part II"
    return name


def _person(rng: random.Random) -> str:
    return f"{_choice(rng, _FIRST)} {_choice(rng, _LAST)}"


def _description(rng: random.Random) -> str:
    def ch(seq: Sequence[str]) -> str:
        return seq[int(rng.random() * len(seq))]

    return (
        f"{ch(_WHO)} {ch(_VERBS)} the {ch(_ADJ).lower()} {ch(_NOUN).lower()} in {ch(_PLACE)}. "
        f"{ch(_ADJ)}, {ch(_ADJ).lower()} and {ch(_ADJ).lower()}."
    )


def _genres(rng: random.Random) -> str:
    return ", ".join(rng.sample(_GENRES, rng.randint(1, 3)))


def _with_lang(rng: random.Random, cat: Catalogue, name: str, category_id: int, year: int) -> str:
    # Reseller panels often prefix a language tag and suffix the year: "EN - Title (2019)".
    if rng.random() < 0.25:
        category = cat.get_category(category_id)
        if category is not None and " | " in category.title:
            name = f"{category.title.split(' | ')[0]} - {name}"
        name = f"{name} ({year})"
    return name


def _make_movie(cat: Catalogue, item_id: int, added: datetime) -> FakeMovie:
    rng = cat._rng
    category_id = cat._pick_category("movie")
    year = _year(rng)
    return FakeMovie(
        id=item_id,
        name=_with_lang(rng, cat, _title(rng), category_id, year),
        year=year,
        rating=_rating(rng),
        poster=_poster(rng),
        category_id=category_id,
        added=added,
        description=_description(rng),
        director=_person(rng),
        actors=", ".join(_person(rng) for _ in range(rng.randint(2, 4))),
        genres=_genres(rng),
        duration_min=rng.randint(72, 185),
        extension=rng.choice(_EXTENSIONS),
    )


def _make_series(cat: Catalogue, item_id: int, added: datetime) -> FakeSeries:
    rng = cat._rng
    category_id = cat._pick_category("series")
    year = _year(rng)
    return FakeSeries(
        id=item_id,
        name=_with_lang(rng, cat, _title(rng), category_id, year),
        year=year,
        rating=_rating(rng),
        poster=_poster(rng),
        category_id=category_id,
        added=added,
        description=_description(rng),
        genres=_genres(rng),
    )


def _make_channel(cat: Catalogue, item_id: int, number: int, added: datetime) -> FakeChannel:
    rng = cat._rng
    category_id = cat._pick_category("channel")
    prefix = _CHANNEL_GENRES[_channel_genre_pos(cat, category_id)][1]
    brand = f"{rng.choice(_BRAND_A)} {rng.choice(_BRAND_B)}"
    if rng.random() < 0.2:
        brand += f" {rng.randint(1, 9)}"
    radio = prefix == "RADIO"
    archive = not radio and rng.random() < 0.2
    slug = brand.lower().replace(" ", "")
    return FakeChannel(
        id=item_id,
        name=f"{prefix}: {brand}{'' if radio else rng.choice(_QUALITY)}",
        number=number,
        logo="" if rng.random() < 0.12 else f"{item_id}.png",
        category_id=category_id,
        xmltv_id=None if rng.random() < 0.25 else f"{slug}.{prefix.lower()}",
        archive=archive,
        archive_days=rng.choice((1, 3, 5, 7, 14)) if archive else 0,
        radio=radio,
        added=added,
    )


def _channel_genre_pos(cat: Catalogue, category_id: int) -> int:
    # Channel categories are created first, in _CHANNEL_GENRES order, from id 1.
    first = cat._cat_pick["channel"][0][0]
    return category_id - first


def ids_of(items: Sequence[Any]) -> list[int]:
    """Convenience for tests and the control API."""
    return [item.id for item in items]
