"""Invented content for the fake catalogue: word lists, categories and items that look real.

Names with commas, accents and quotes, skewed category sizes with one adult category per kind,
TMDB-like poster paths, language-tagged titles, ``added`` stamps in import batches. Everything
is drawn from the catalogue's seeded ``random.Random``, so the same seed gives the same items.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from iptvsync.fakes.items import (
    EXTENSIONS,
    KINDS,
    FakeCategory,
    FakeChannel,
    FakeMovie,
    FakeSeries,
)

if TYPE_CHECKING:
    from iptvsync.fakes.catalogue import Catalogue

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


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


def import_batches(rng: random.Random, n: int, start: datetime, end: datetime) -> list[datetime]:
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


def make_categories(cat: Catalogue, rng: random.Random) -> None:
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


def _vod_fields(cat: Catalogue, kind: str, item_id: int, added: datetime) -> dict[str, Any]:
    """What movies and series share, drawn in this order (a seed's catalogue stays the same)."""
    rng = cat._rng
    category_id = cat._pick_category(kind)
    year = _year(rng)
    return {
        "id": item_id,
        "name": _with_lang(rng, cat, _title(rng), category_id, year),
        "year": year,
        "rating": _rating(rng),
        "poster": _poster(rng),
        "category_id": category_id,
        "added": added,
        "description": _description(rng),
    }


def make_movie(cat: Catalogue, item_id: int, added: datetime) -> FakeMovie:
    rng = cat._rng
    common = _vod_fields(cat, "movie", item_id, added)
    return FakeMovie(
        **common,
        director=_person(rng),
        actors=", ".join(_person(rng) for _ in range(rng.randint(2, 4))),
        genres=_genres(rng),
        duration_min=rng.randint(72, 185),
        extension=rng.choice(EXTENSIONS),
    )


def make_series(cat: Catalogue, item_id: int, added: datetime) -> FakeSeries:
    return FakeSeries(**_vod_fields(cat, "series", item_id, added), genres=_genres(cat._rng))


def make_channel(cat: Catalogue, item_id: int, number: int, added: datetime) -> FakeChannel:
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
