"""Building the snapshot: one document in every encoding, atomic files, exact content."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from iptvsync.settings import Settings
from iptvsync.snapshot import files
from iptvsync.snapshot.build import build_snapshot
from iptvsync.store.models import providers, snapshots
from iptvsync.store.providers import create_provider
from tests.api.conftest import Seeded


def _doc(path: Path, encoding: str) -> dict:
    return orjson.loads(files.decompress(path.read_bytes(), encoding))


def test_build_writes_every_encoding_of_one_document(
    db: sa.Engine, settings: Settings, seeded: Seeded
) -> None:
    info = build_snapshot(db, settings, seeded.provider_id)
    assert info is not None and info.version == 1
    plain = files.stable_path(settings, seeded.provider_id).read_bytes()
    for enc in files.ENCODINGS:
        stable = files.stable_path(settings, seeded.provider_id, enc)
        versioned = files.version_path(settings, seeded.provider_id, 1, encoding=enc)
        assert files.decompress(stable.read_bytes(), enc) == plain
        assert versioned.read_bytes() == stable.read_bytes()
        assert info.sizes[enc] == stable.stat().st_size
    assert info.sizes["br"] < info.sizes["identity"] / 3
    leftovers = [p for p in settings.resolved_snapshot_dir().rglob(".*")]
    assert leftovers == [], "no temp files left behind"

    doc = orjson.loads(plain)
    assert list(doc) == [
        "version",
        "generated_at",
        "provider_id",
        "stats",
        "categories",
        "movies",
        "series",
        "channels",
        "moviesByCategory",
        "seriesByCategory",
        "channelsByCategory",
    ]
    assert doc["version"] == 1 and doc["provider_id"] == seeded.provider_id
    stats = doc["stats"]
    assert (stats["movies"], stats["series"], stats["channels"]) == (60, 20, 30)
    assert stats["categories"] == len(doc["categories"])
    assert {m["provider_item_id"] for m in doc["movies"]} == {
        str(m.id) for m in seeded.catalogue.movies
    }
    keys = [(m["added_at"], m["id"]) for m in doc["movies"]]
    assert keys == sorted(keys, reverse=True)
    assert [c["number"] for c in doc["channels"]] == sorted(c["number"] for c in doc["channels"])
    for key, kind in (("movies", "movie"), ("series", "series"), ("channels", "channel")):
        index = doc[f"{key}ByCategory"]
        ids = sorted(i for members in index.values() for i in members)
        assert ids == sorted(item["id"] for item in doc[key]), "every item once, by category"
        for item in doc[key]:
            assert item["id"] in index[str(item["category_id"])]
        counts = {str(c["id"]): c["count"] for c in doc["categories"] if c["kind"] == kind}
        assert {k: len(v) for k, v in index.items()} == counts

    essentials = _doc(files.version_path(settings, seeded.provider_id, 1, "essentials"), "identity")
    assert list(essentials) == ["version", "stats", "categories", "featured"]
    assert essentials["categories"] == doc["categories"]


def test_featured_rule(db: sa.Engine, settings: Settings, seeded: Seeded) -> None:
    settings = settings.replace(featured_count=12)
    build_snapshot(db, settings, seeded.provider_id)
    path = files.version_path(settings, seeded.provider_id, 1, "essentials")
    featured = _doc(path, "identity")["featured"]
    assert len(featured) == 12
    assert {f["kind"] for f in featured} <= {"movie", "series"}
    censored = {c.id for c in seeded.catalogue.categories if c.censored}
    by_id = {str(m.id): m for m in seeded.catalogue.movies} | {
        str(s.id): s for s in seeded.catalogue.series
    }
    for item in featured:
        source = by_id[item["provider_item_id"]]
        assert source.category_id not in censored and item["poster"]
    rated = [f for f in featured if (f["rating"] or 0) >= 7.0]
    qualifying = [
        t
        for t in by_id.values()
        if (t.rating or 0) >= 7.0 and t.poster and t.category_id not in censored
    ]
    assert len(rated) == min(12, len(qualifying))
    assert featured[: len(rated)] == rated, "rated titles first"
    keys = [(f["added_at"], f["id"]) for f in rated]
    assert keys == sorted(keys, reverse=True), "newest first"


def test_nothing_to_build_before_the_first_sync(db: sa.Engine, settings: Settings) -> None:
    with db.begin() as conn:
        pid = create_provider(conn, {"name": "new", "kind": "m3u", "url": "http://x/a.m3u"})
    assert build_snapshot(db, settings, pid) is None
    assert not files.stable_path(settings, pid).exists()


def test_kept_window_and_old_files(db: sa.Engine, settings: Settings, seeded: Seeded) -> None:
    settings = settings.replace(snapshot_keep_versions=3)
    for version in range(1, 6):
        with db.begin() as conn:
            conn.execute(
                providers.update()
                .where(providers.c.id == seeded.provider_id)
                .values(snapshot_version=version)
            )
        build_snapshot(db, settings, seeded.provider_id)
    with db.connect() as conn:
        kept = list(conn.execute(sa.select(snapshots.c.version).order_by(snapshots.c.version)))
    assert [v for (v,) in kept] == [3, 4, 5]
    names = {p.name for p in files.provider_dir(settings, seeded.provider_id).iterdir()}
    assert {n.split(".")[0] for n in names} == {"v4", "v5"}, "current and previous files only"
    assert (
        orjson.loads(files.stable_path(settings, seeded.provider_id).read_bytes())["version"] == 5
    )


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    base = tmp_path / "snap" / "doc.json"
    with pytest.raises(RuntimeError), files.MultiWriter(base) as writer:
        writer.write(b"{" * 10)
        raise RuntimeError("disk on fire")
    assert list((tmp_path / "snap").iterdir()) == []


def test_an_encoder_failing_at_its_end_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each sink's thread finishes its own file (the encoder's tail, the fsync); an error
    there reaches ``commit`` and no file, finished or not, is left behind."""
    real = files.brotli.Compressor

    class Failing:
        def __init__(self, **kwargs: object) -> None:
            self._inner = real(**kwargs)
            self.process = self._inner.process

        def finish(self) -> bytes:
            raise OSError("no space left on device")

    monkeypatch.setattr(files.brotli, "Compressor", Failing)
    base = tmp_path / "snap" / "doc.json"
    writer = files.MultiWriter(base)
    writer.write(b'{"a": 1}' * 100_000)
    with pytest.raises(OSError, match="no space"):
        writer.commit()
    assert list((tmp_path / "snap").iterdir()) == []


def test_remove_snapshot_files(db: sa.Engine, settings: Settings, seeded: Seeded) -> None:
    build_snapshot(db, settings, seeded.provider_id)
    files.remove_snapshot_files(settings, seeded.provider_id)
    assert list(settings.resolved_snapshot_dir().iterdir()) == []


def test_export(db: sa.Engine, settings: Settings, seeded: Seeded) -> None:
    with db.begin() as conn:
        create_provider(conn, {"name": "never synced", "kind": "m3u", "url": "http://x/a.m3u"})
    paths = files.export_snapshots(db, settings, None)
    assert sorted(p.name for p in paths) == sorted(
        f"provider-{seeded.provider_id}.json{ext}" for ext in files.ENCODINGS.values()
    )
    assert all(p.exists() for p in paths)
    assert files.export_snapshots(db, settings, 999) == []
