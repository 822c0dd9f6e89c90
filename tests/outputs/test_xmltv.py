"""``/xmltv.xml``, ``/xmltv.xml.gz`` and ``xmltv.php``: well-formed, DTD element order, read back
by lxml."""

from __future__ import annotations

import gzip
import io
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa
from lxml import etree

from iptvsync.outputs.xmltv import episode_nums, programme_element, xmltv_time
from iptvsync.records import ChannelRecord, ProgrammeRecord
from iptvsync.store import catalogue
from iptvsync.store import providers as provider_store
from iptvsync.store.models import channels, programmes
from iptvsync.store.users import create_user
from iptvsync.sync.diff import record_to_row
from iptvsync.sync.guide import store_guide

from .conftest import ADMIN_TOKEN, AppServer, Seeded, _aiter

# The content models of the XMLTV DTD (XMLTV/xmltv, xmltv.dtd) for what a guide can hold, so
# libxml2 checks element order: tv (channel*, programme*), and inside <programme> title+,
# sub-title*, desc*, ... category*, ... episode-num*, ... in that order.
XMLTV_DTD = """
<!ELEMENT tv (channel*, programme*)>
<!ATTLIST tv date CDATA #IMPLIED source-info-url CDATA #IMPLIED source-info-name CDATA #IMPLIED
             source-data-url CDATA #IMPLIED generator-info-name CDATA #IMPLIED
             generator-info-url CDATA #IMPLIED>
<!ELEMENT channel (display-name+, icon*, url*)>
<!ATTLIST channel id CDATA #REQUIRED>
<!ELEMENT display-name (#PCDATA)>
<!ATTLIST display-name lang CDATA #IMPLIED>
<!ELEMENT icon EMPTY>
<!ATTLIST icon src CDATA #REQUIRED width CDATA #IMPLIED height CDATA #IMPLIED>
<!ELEMENT url (#PCDATA)>
<!ELEMENT programme (title+, sub-title*, desc*, credits?, date?, category*, keyword*,
                     language?, orig-language?, length?, icon*, url*, country*, episode-num*,
                     video?, audio?, previously-shown?, premiere?, last-chance?, new?,
                     subtitles*, rating*, star-rating*, review*, image*)>
<!ATTLIST programme start CDATA #REQUIRED stop CDATA #IMPLIED pdc-start CDATA #IMPLIED
                    vps-start CDATA #IMPLIED showview CDATA #IMPLIED videoplus CDATA #IMPLIED
                    channel CDATA #REQUIRED clumpidx CDATA "0/1">
<!ELEMENT title (#PCDATA)>
<!ATTLIST title lang CDATA #IMPLIED>
<!ELEMENT sub-title (#PCDATA)>
<!ATTLIST sub-title lang CDATA #IMPLIED>
<!ELEMENT desc (#PCDATA)>
<!ATTLIST desc lang CDATA #IMPLIED>
<!ELEMENT category (#PCDATA)>
<!ATTLIST category lang CDATA #IMPLIED>
<!ELEMENT episode-num (#PCDATA)>
<!ATTLIST episode-num system CDATA "onscreen">
<!ELEMENT credits ANY> <!ELEMENT date ANY> <!ELEMENT keyword ANY> <!ELEMENT language ANY>
<!ELEMENT orig-language ANY> <!ELEMENT length ANY> <!ELEMENT country ANY> <!ELEMENT video ANY>
<!ELEMENT audio ANY> <!ELEMENT previously-shown ANY> <!ELEMENT premiere ANY>
<!ELEMENT last-chance ANY> <!ELEMENT new ANY> <!ELEMENT subtitles ANY> <!ELEMENT rating ANY>
<!ELEMENT star-rating ANY> <!ELEMENT review ANY> <!ELEMENT image ANY>
"""


def _parse(body: bytes) -> etree._Element:
    # No DTD loading, no network, no entities: the document must stand on its own.
    parser = etree.XMLParser(load_dtd=False, no_network=True, resolve_entities=False)
    root = etree.fromstring(body, parser)
    dtd = etree.DTD(io.StringIO(XMLTV_DTD))
    assert dtd.validate(root), dtd.error_log.filter_from_errors()
    return root


def _guide_keys(db: sa.Engine, provider_id: int) -> set[str]:
    with db.connect() as conn:
        return {
            k
            for k in conn.execute(
                sa.select(channels.c.epg_id).where(
                    channels.c.provider_id == provider_id, channels.c.deleted_at.is_(None)
                )
            ).scalars()
            if k
        }


def _stored(db: sa.Engine, provider_id: int, keys: set[str]) -> int:
    with db.connect() as conn:
        rows = conn.execute(
            sa.select(programmes.c.channel_key).where(programmes.c.provider_id == provider_id)
        ).scalars()
        return sum(1 for k in rows if k in keys)


def test_guide_is_valid_and_complete(open_server: AppServer, seeded: Seeded, db: sa.Engine) -> None:
    body = httpx.get(f"{open_server.url}/xmltv.xml").content
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE tv SYSTEM')
    root = _parse(body)
    alpha_keys = _guide_keys(db, seeded.alpha)
    bravo_keys = _guide_keys(db, seeded.bravo)
    assert alpha_keys == {"news.alpha", "sport.alpha", "late.alpha"}  # gone.alpha was removed
    ids = [c.get("id") for c in root.iter("channel")]
    assert len(ids) == len(set(ids))
    assert set(ids) == alpha_keys | bravo_keys
    per_channel = Counter(p.get("channel") for p in root.iter("programme"))
    assert per_channel["news.alpha"] == per_channel["sport.alpha"] == 4
    assert "gone.alpha" not in per_channel and "unknown.alpha" not in per_channel
    bravo_count = sum(n for k, n in per_channel.items() if k in bravo_keys)
    assert bravo_count == _stored(db, seeded.bravo, bravo_keys) > 0

    news = next(c for c in root.iter("channel") if c.get("id") == "news.alpha")
    assert news.findtext("display-name") == 'News, "Live" HD'
    assert news.find("icon").get("src") == "http://img.alpha.test/l/a,b.png"
    shows = [p for p in root.iter("programme") if p.get("channel") == "news.alpha"]
    first = shows[0]
    assert first.findtext("title") == "news.alpha show 0 <&>"
    assert first.findtext("desc") == "Line one\nline two & more"
    assert shows[1].findtext("sub-title") == "Part two"  # a control character was dropped
    episode = {e.get("system"): e.text for e in shows[2].iter("episode-num")}
    assert episode == {"xmltv_ns": "0.4.", "onscreen": "S01E05"}
    start = datetime.strptime(first.get("start"), "%Y%m%d%H%M%S %z")
    stop = datetime.strptime(first.get("stop"), "%Y%m%d%H%M%S %z")
    assert stop - start == timedelta(minutes=30)


def test_gzip_and_xmltv_php_are_the_same_document(open_server: AppServer, seeded: Seeded) -> None:
    plain = httpx.get(f"{open_server.url}/xmltv.xml", params={"provider": seeded.alpha})
    gz = httpx.get(f"{open_server.url}/xmltv.xml.gz", params={"provider": seeded.alpha})
    assert gz.content[:2] == b"\x1f\x8b"
    assert gz.headers["content-type"] == "application/gzip"
    assert "content-encoding" not in gz.headers
    assert gzip.decompress(gz.content) == plain.content
    everything = httpx.get(f"{open_server.url}/xmltv.xml").content
    php = httpx.get(f"{open_server.url}/xmltv.php", params={"username": "u", "password": "p"})
    assert php.content == everything
    php_gz = httpx.get(
        f"{open_server.url}/xmltv.php", params={"username": "u", "password": "p", "gzip": "1"}
    )
    assert gzip.decompress(php_gz.content) == everything
    # lxml's incremental parser reads the stream as players with big guides do.
    events = etree.iterparse(io.BytesIO(everything), events=("end",), tag=("channel", "programme"))
    counts = Counter(elem.tag for _, elem in events)
    assert counts["channel"] > 0 and counts["programme"] > 0


async def test_a_shared_guide_id_is_written_once(
    open_server: AppServer, seeded: Seeded, db: sa.Engine
) -> None:
    now = datetime.now(UTC)
    with db.begin() as conn:
        charlie = provider_store.create_provider(
            conn, {"name": "Charlie", "kind": "m3u", "url": "http://charlie.test/x.m3u"}
        )
        cats = catalogue.upsert_categories(conn, charlie, "channel", [], version=1)
        row = record_to_row(ChannelRecord("x1", "News Copy", number=1, epg_id="news.alpha"), cats)
        catalogue.upsert_items(conn, "channel", charlie, [row], run_id=1, version=1, now=now)
    other = [ProgrammeRecord("news.alpha", now, now + timedelta(hours=1), "Charlie's news")]
    await store_guide(db, charlie, _aiter(other), (timedelta(hours=6), timedelta(days=1)))
    async with httpx.AsyncClient(base_url=open_server.url) as client:
        combined = (await client.get("/xmltv.xml")).content
        only = (await client.get("/xmltv.xml", params={"provider": charlie})).content
    root = _parse(combined)
    assert [c.get("id") for c in root.iter("channel")].count("news.alpha") == 1
    titles = {
        p.findtext("title") for p in root.iter("programme") if p.get("channel") == "news.alpha"
    }
    assert "Charlie's news" not in titles  # Alpha (the first provider) owns news.alpha
    # Charlie alone has its own guide.
    alone = _parse(only)
    assert [p.findtext("title") for p in alone.iter("programme")] == ["Charlie's news"]


def test_locked_guide_follows_user_access(
    locked_server: AppServer, seeded: Seeded, db: sa.Engine
) -> None:
    with db.begin() as conn:
        create_user(conn, "carol", "carol-pass", provider_ids=[seeded.alpha])
    url = f"{locked_server.url}/xmltv.xml"
    assert httpx.get(url).status_code == 401
    assert httpx.get(f"{locked_server.url}/xmltv.php").status_code == 403
    mine = _parse(httpx.get(url, params={"username": "carol", "password": "carol-pass"}).content)
    assert {c.get("id") for c in mine.iter("channel")} == _guide_keys(db, seeded.alpha)
    php = httpx.get(
        f"{locked_server.url}/xmltv.php", params={"username": "carol", "password": "carol-pass"}
    )
    assert {c.get("id") for c in _parse(php.content).iter("channel")} == _guide_keys(
        db, seeded.alpha
    )
    admin = _parse(httpx.get(url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).content)
    assert len(list(admin.iter("channel"))) > len(list(mine.iter("channel")))


def test_programme_element_order_and_escaping() -> None:
    start = datetime(2024, 1, 1, 12, tzinfo=UTC)
    xml = programme_element(
        'a"b', start, start + timedelta(minutes=30), "T & <t>", "Sub\r\nline", "D\nD", "News",
        "E03",
    )  # fmt: skip
    elem = etree.fromstring(xml)
    assert [c.tag for c in elem] == [
        "title",
        "sub-title",
        "desc",
        "category",
        "episode-num",
        "episode-num",
    ]
    assert elem.get("channel") == 'a"b'
    assert elem.findtext("sub-title") == "Sub line"
    assert xmltv_time(start) == "20240101120000 +0000"
    assert xmltv_time(start.replace(tzinfo=None)) == "20240101120000 +0000"
    assert episode_nums("S02") == [("xmltv_ns", "1.."), ("onscreen", "S02")]
    assert episode_nums("Pilot") == [("onscreen", "Pilot")]
    assert episode_nums(None) == []
