"""The agency trend: ISO weeks, comparison wording, the numbers in CSV = JSON = page."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest

from monitor.config import SourceConfig
from monitor.formatting import period_text
from monitor.report.trend import build_trend, render_trend
from monitor.report.trend_records import Change, week_periods
from monitor.report.trend_render import trend_csv, trend_html, trend_json

AGENCY = "disdukcapil-kota-kupang"
OTHER = "pdam-kota-kupang"
MODEL = "test-model"
TOPIC_COLUMNS = (
    "penundaan,antrean,pungli,biaya,sikap_petugas,kekurangan_sumber_daya,gangguan_sistem,"
    "prosedur_berbelit,informasi_tidak_jelas,tidak_ditanggapi,fasilitas_rusak,diskriminasi"
)
HOSTILE = (
    "Sudah 3 bulan KTP belum jadi di dukcapil kota kupang, petugas tidak pernah respon, "
    "tolong! &lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt;"
)


# --- helpers shared with test_site ----------------------------------------------------


def put(store, day, agency, complaints, posts, topics=None, sector="adminduk"):
    """daily_counts rows as the aggregation writes them: topic '' holds the total."""
    rows = [(day, agency, sector, "", posts, complaints, complaints, MODEL)]
    rows += [(day, agency, sector, t, n, n, n, MODEL) for t, n in (topics or {}).items()]
    with store.db.atomic():
        store.db.conn.executemany("INSERT INTO daily_counts VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)


def replay(tmp_path: Path, lines: list[dict], name: str = "r") -> SourceConfig:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return SourceConfig(name=name, type="replay", path=str(path), region="kota-kupang")


class PageParser(HTMLParser):
    """What a browser would show: the weekly table, visible text, links, script tags."""

    def __init__(self, table_id: str = "angka-per-minggu"):
        super().__init__(convert_charrefs=True)
        self.table_id = table_id
        self.in_table = 0
        self.section = ""
        self.header: list[dict] = []  # one per header cell: its attributes and text
        self.rows: list[tuple[dict, list[str]]] = []
        self.cell: list[str] | None = None
        self.text: list[str] = []
        self.links: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        for name in ("href", "src"):
            if attrs.get(name) is not None:
                self.links.append(attrs[name])
        if tag == "table":
            if self.in_table:
                self.in_table += 1
            elif attrs.get("id") == self.table_id:
                self.in_table = 1
            return
        if not self.in_table:
            return
        if tag in ("thead", "tbody"):
            self.section = tag
        elif tag == "tr" and self.section == "tbody":
            self.rows.append((attrs, []))
        elif tag in ("td", "th"):
            self.cell = []
            if self.section == "thead":
                self.header.append(attrs)

    def handle_endtag(self, tag):
        if tag == "table" and self.in_table:
            self.in_table -= 1
        elif tag in ("td", "th") and self.in_table and self.cell is not None:
            text = " ".join("".join(self.cell).split())
            if self.section == "thead":
                self.header[-1]["text"] = text
            else:
                self.rows[-1][1].append(text)
            self.cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self.cell is not None:
            self.cell.append(data)

    @property
    def visible_text(self) -> str:
        return " ".join(" ".join(self.text).split())


def parse_page(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    parser.close()
    return parser


def table_as_csv_rows(html: str) -> tuple[list[str], list[list[str]]]:
    """The page's weekly table in the CSV's shape: (header, rows), numbers as digits."""
    page = parse_page(html)
    assert page.header and page.rows, "no weekly table on the page"
    header = ["week_start", "week_end", "complaints"]
    header += [cell["data-key"] for cell in page.header if "data-key" in cell]
    header += ["posts", "partial", "coverage"]
    assert [cell["text"] for cell in page.header][1] == "Pengaduan"
    assert [cell["text"] for cell in page.header][-1] == "Posting"
    rows = []
    for attrs, cells in page.rows:
        numbers = [cell.replace(".", "") for cell in cells[1:]]  # '1.234' -> '1234'
        assert all(number.isdigit() for number in numbers), cells
        rows.append(
            [
                attrs["data-week-start"],
                attrs["data-week-end"],
                *numbers,
                attrs["data-partial"],
                attrs["data-coverage"],
            ]
        )
    return header, rows


def assert_downloads_match_page(html: str, csv_text: str, json_text: str) -> None:
    """The CSV and the JSON hold exactly the numbers of the page's weekly table."""
    header, rows = table_as_csv_rows(html)
    parsed = list(csv.reader(io.StringIO(csv_text)))
    assert parsed[0] == header
    assert parsed[1:] == rows
    data = json.loads(json_text)
    topic_keys = header[3:-3]
    from_json = [
        [
            week["week_start"],
            week["week_end"],
            str(week["complaints"]),
            *(str(week["topics"][key]) for key in topic_keys),
            str(week["posts"]),
            "1" if week["partial"] else "0",
            week["coverage"],
        ]
        for week in data["weeks"]
    ]
    assert from_json == rows
    assert list(data["topic_names"]) == topic_keys


# --- weeks ----------------------------------------------------------------------------


def test_weeks_group_across_a_month_boundary_with_the_current_week_partial(config, store):
    put(store, "2025-02-16", AGENCY, 4, 6)  # the Sunday before the window
    put(store, "2025-02-18", AGENCY, 1, 2, {"penundaan": 1})
    put(store, "2025-02-28", AGENCY, 2, 3, {"penundaan": 2, "pungli": 1})
    put(store, "2025-02-28", AGENCY, 1, 1, sector="lainnya")  # a second sector, same day
    put(store, "2025-03-02", AGENCY, 3, 3, {"antrean": 3})  # Sunday: still February's week
    put(store, "2025-03-03", AGENCY, 1, 1, {"penundaan": 1})  # Monday of the current week
    put(store, "2025-03-06", AGENCY, 7, 7)  # after 'today': not counted
    put(store, "2025-03-02", OTHER, 9, 9)  # another agency

    trend = build_trend(config, store, MODEL, AGENCY, weeks=3, today=date(2025, 3, 5))

    assert trend_csv(trend) == (
        f"week_start,week_end,complaints,{TOPIC_COLUMNS},posts,partial,coverage\n"
        "2025-02-17,2025-02-23,1,1,0,0,0,0,0,0,0,0,0,0,0,2,0,full\n"
        "2025-02-24,2025-03-02,6,2,3,1,0,0,0,0,0,0,0,0,0,7,0,full\n"
        "2025-03-03,2025-03-09,1,1,0,0,0,0,0,0,0,0,0,0,0,1,1,full\n"
    )
    assert [w.partial for w in trend.weeks] == [False, False, True]
    assert trend.weeks[1].range_text == "24 Feb – 2 Mar 2025"
    assert trend.first_day == date(2025, 2, 17) and trend.last_day == date(2025, 3, 5)
    assert trend.window_text.startswith("Senin, 17 Februari 2025 s.d. Rabu, 5 Maret 2025")
    assert trend.agency_name == "Disdukcapil Kota Kupang"
    assert trend.total_complaints == 8 and trend.total_posts == 10
    # The 7 days to 'today' (27 Feb - 5 Mar, the running week's days included) against
    # the 7 before (20-26 Feb); 6 March is after 'today' and in neither.
    comparison = trend.comparison
    assert comparison.days == 7
    assert (comparison.earlier_first, comparison.earlier_last) == (
        date(2025, 2, 20),
        date(2025, 2, 26),
    )
    assert (comparison.later_first, comparison.later_last) == (date(2025, 2, 27), date(2025, 3, 5))
    assert comparison.total == Change(0, 7)
    assert dict(comparison.topics)["antrean"].text == "naik dari 0 ke 3"
    assert comparison.headline == (
        "7 hari terakhir (27 Feb – 5 Mar 2025): 7 pengaduan, naik dari 0 pada 7 hari sebelumnya"
    )
    assert any("adalah minggu berjalan" in note for note in trend.notes)


def test_week_periods_are_iso_weeks_and_a_finished_sunday_is_complete():
    weeks = week_periods(date(2025, 1, 1), 2)  # a Wednesday; ISO week 1 of 2025
    assert [(w.start, w.end, w.partial) for w in weeks] == [
        (date(2024, 12, 23), date(2024, 12, 29), False),
        (date(2024, 12, 30), date(2025, 1, 5), True),
    ]
    assert weeks[1].iso_week == "2025-W01"
    assert weeks[1].range_text == "30 Des 2024 – 5 Jan 2025"
    sunday = date(2025, 3, 9)
    assert week_periods(sunday, 1, now_local=sunday)[0].partial  # the day is not over
    assert not week_periods(sunday, 1, now_local=date(2025, 3, 10))[0].partial
    with pytest.raises(ValueError, match="at least 1"):
        week_periods(sunday, 0)


def test_period_text():
    assert period_text(date(2025, 3, 3), date(2025, 3, 9)) == "3–9 Mar 2025"
    assert period_text(date(2025, 3, 3), date(2025, 3, 3)) == "3 Mar 2025"
    assert period_text(date(2025, 7, 28), date(2025, 8, 3), with_year=False) == "28 Jul – 3 Agu"


# --- comparison -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("earlier", "later", "text", "percent"),
    [
        (2, 5, "naik dari 2 ke 5", None),
        (5, 2, "turun dari 5 ke 2", None),
        (0, 3, "naik dari 0 ke 3", None),
        (9, 30, "naik dari 9 ke 30", None),  # 9 is too few for a percentage
        (4, 4, "tetap 4", None),
        (0, 0, "tetap 0", None),
        (20, 27, "naik 35% (dari 20 ke 27)", 35),
        (10, 5, "turun 50% (dari 10 ke 5)", -50),
        (12, 12, "tetap 12", 0),
        (400, 401, "naik kurang dari 1% (dari 400 ke 401)", 0),
    ],
)
def test_change_text_uses_counts_for_small_numbers(earlier, later, text, percent):
    change = Change(earlier, later)
    assert change.text == text
    assert change.percent == percent


def test_comparison_takes_the_last_7_days_against_the_7_before(config, store):
    put(store, "2024-12-12", OTHER, 1, 1)  # collection ran before the window
    earlier_days = ["2025-02-20", "2025-02-22", "2025-02-24", "2025-02-26"]
    later_days = ["2025-02-27", "2025-03-01", "2025-03-03", "2025-03-05"]
    for day, count in zip(earlier_days, [5, 5, 5, 5], strict=True):
        put(store, day, AGENCY, count, count, {"antrean": 1 if day < "2025-02-24" else 0})
    for day, count in zip(later_days, [6, 7, 7, 7], strict=True):
        put(store, day, AGENCY, count, count, {"antrean": 2 if day < "2025-03-01" else 1})
    put(store, "2025-02-19", AGENCY, 100, 100, {"antrean": 50})  # 15 days back: in neither

    trend = build_trend(config, store, MODEL, AGENCY, weeks=12, today=date(2025, 3, 5))

    comparison = trend.comparison
    assert comparison.days == 7
    assert comparison.total == Change(20, 27)
    assert dict(comparison.topics)["antrean"] == Change(2, 5)
    assert comparison.window_text == (
        "7 hari terakhir (27 Feb – 5 Mar 2025) dibanding 7 hari sebelumnya (20–26 Feb 2025)"
    )
    assert comparison.headline == (
        "7 hari terakhir (27 Feb – 5 Mar 2025): 27 pengaduan, "
        "naik 35% dari 20 pada 7 hari sebelumnya"
    )
    assert trend.data_since is None
    assert {row.coverage for row in trend.rows} == {"full"}
    html = trend_html(trend)
    assert "naik 35% (dari 20 ke 27)" in html
    assert "naik 35% dari 20 pada 7 hari sebelumnya" in html
    assert "naik dari 2 ke 5" in html
    assert "27 Feb – 5 Mar 2025" in html and "20–26 Feb 2025" in html
    data = json.loads(trend_json(trend))
    assert data["comparison"]["complaints"] == {
        "earlier": 20,
        "later": 27,
        "percent": 35,
        "text": "naik 35% (dari 20 ke 27)",
    }
    assert data["comparison"]["topics"]["antrean"]["percent"] is None
    assert data["comparison"]["days"] == 7
    assert data["comparison"]["later"] == {"first_day": "2025-02-27", "last_day": "2025-03-05"}
    assert data["comparison"]["earlier"] == {"first_day": "2025-02-20", "last_day": "2025-02-26"}


def test_weeks_before_collection_began_are_marked_and_not_compared(config, store):
    for day in ["2025-02-19", "2025-02-25", "2025-03-04", "2025-03-11"]:
        put(store, day, AGENCY, 2, 3)
    trend = build_trend(config, store, MODEL, AGENCY, weeks=5, today=date(2025, 3, 12))
    assert trend.data_since == date(2025, 2, 19)
    assert [row.coverage for row in trend.rows] == ["none", "partial", "full", "full", "full"]
    # Collection covers the 14 days (27 Feb - 12 Mar) throughout: 7 days against 7.
    assert trend.comparison.total == Change(2, 2)
    assert (trend.comparison.earlier_first, trend.comparison.later_first) == (
        date(2025, 2, 27),
        date(2025, 3, 6),
    )
    assert any("Data baru terkumpul sejak Rabu, 19 Februari 2025" in n for n in trend.notes)
    html = trend_html(trend)
    assert "belum ada data" in html and "data sejak 19 Feb" in html
    # Collection began 8 days before 'today': the 7 days before are not covered, so a
    # comparison would read as a rise from nothing; there is none, and the page says why.
    young = build_trend(config, store, MODEL, AGENCY, weeks=5, today=date(2025, 2, 26))
    assert young.comparison is None
    assert any(
        "memerlukan data sejak Kamis, 13 Februari 2025; data baru ada sejak Rabu, "
        "19 Februari 2025" in n
        for n in young.notes
    )
    assert "naik dari 0" not in trend_html(young)


def test_an_empty_database_says_there_is_no_data(config, store):
    trend = build_trend(config, store, MODEL, AGENCY, weeks=4, today=date(2025, 3, 12))
    assert trend.comparison is None
    assert trend.total_complaints == 0
    assert {row.coverage for row in trend.rows} == {"none"}
    html = trend_html(trend)
    assert "Belum ada data dalam periode ini" in html
    assert "Perbandingan memerlukan data untuk 14 hari terakhir" in html
    assert "Tidak ada pengaduan tercatat dalam periode ini." in html


# --- agencies -------------------------------------------------------------------------


def test_unknown_agency_lists_the_valid_ids(config, store):
    with pytest.raises(ValueError) as raised:
        build_trend(config, store, MODEL, "dukcapil-kupang", today=date(2025, 3, 5))
    message = str(raised.value)
    assert "unknown agency id 'dukcapil-kupang'" in message
    assert AGENCY in message and "tidak-teridentifikasi" in message


def test_the_unresolved_bucket_has_a_trend_of_its_own(config, store):
    put(store, "2025-03-03", "", 4, 5, {"antrean": 2}, sector="lainnya")
    put(store, "2025-03-03", AGENCY, 1, 1)
    for name in ("", "tidak-teridentifikasi"):
        trend = build_trend(config, store, MODEL, name, weeks=2, today=date(2025, 3, 5))
        assert trend.agency_id == "" and trend.slug == "tidak-teridentifikasi"
        assert trend.agency_name == "Tidak teridentifikasi"
        assert trend.complaints_per_week == [0, 4]
        assert trend.rows[-1].topics["antrean"] == 2


# --- the renderings carry the same numbers -------------------------------------------


def test_csv_and_json_hold_exactly_the_numbers_of_the_page_table(config, store):
    put(store, "2025-01-01", OTHER, 1, 1)
    for i, day in enumerate(["2025-01-08", "2025-01-20", "2025-02-02", "2025-02-27", "2025-03-04"]):
        put(store, day, AGENCY, 3 + i, 1200 + i, {"penundaan": i, "diskriminasi": 1})
    trend = build_trend(config, store, MODEL, AGENCY, weeks=10, today=date(2025, 3, 5))
    html = trend_html(trend)
    assert "1.202" in html  # thousands shown the Indonesian way, still the same number
    assert_downloads_match_page(html, trend_csv(trend), trend_json(trend))
    header, rows = table_as_csv_rows(html)
    assert len(rows) == 10 and rows[-1][-2:] == ["1", "full"]


def test_render_trend_picks_the_format(config, store):
    trend = build_trend(config, store, MODEL, AGENCY, weeks=2, today=date(2025, 3, 5))
    assert render_trend(trend, "csv") == trend_csv(trend)
    assert json.loads(render_trend(trend, "json"))["agency"]["id"] == AGENCY
    assert render_trend(trend, "html").startswith("<!DOCTYPE html>")
    with pytest.raises(ValueError, match="html, csv, json"):
        render_trend(trend, "xlsx")


def test_the_page_names_every_window_and_has_no_script(config, store):
    put(store, "2025-01-22", AGENCY, 1, 1)  # the week before the window: data throughout
    put(store, "2025-02-18", OTHER, 1, 1)  # ... and before the 14 days compared
    trend = build_trend(config, store, MODEL, AGENCY, weeks=6, today=date(2025, 3, 5))
    html = trend_html(trend)
    page = parse_page(html)
    assert "script" not in page.tags and "<script" not in html.lower()
    assert "Periode: Senin, 27 Januari 2025 s.d. Rabu, 5 Maret 2025" in page.visible_text
    assert "pengaduan dalam 6 minggu 27 Jan – 5 Mar 2025" in page.visible_text
    assert "7 hari terakhir (27 Feb – 5 Mar 2025): 0 pengaduan, naik" not in page.visible_text
    assert (
        "pengaduan dalam 7 hari terakhir (27 Feb – 5 Mar 2025): "
        "sama dengan 7 hari sebelumnya" in page.visible_text
    )
    assert "Minggu terakhir (3–9 Mar 2025) adalah minggu berjalan" in page.visible_text
    assert "<svg" in html and 'role="img"' in html
    assert page.links == []  # standalone: no navigation, no downloads, no posts


# --- real posts through the real pipeline ---------------------------------------------


@pytest.fixture
def hostile_store(tmp_path, config):
    from monitor.classify import load_model
    from monitor.pipeline import run
    from monitor.store import Store

    config.sources = [
        replay(
            tmp_path,
            [
                {
                    "id": "h1",
                    "text": HOSTILE,
                    "created_at": "2025-03-04T02:00:00Z",
                    "url": "javascript:alert(1)",
                },
                {
                    "id": "h2",
                    "text": "antre dari subuh di rsud sk lerik, dokter belum datang sampai siang",
                    "created_at": "2025-03-03T01:00:00Z",
                    "url": "https://x.com/someone/status/2",
                },
            ],
        )
    ]
    run(config)
    with Store.open(config.database) as store:
        yield store, load_model().version


def test_hostile_post_text_is_shown_as_text(config, hostile_store):
    store, version = hostile_store
    trend = build_trend(config, store, version, AGENCY, weeks=2, today=date(2025, 3, 5))
    [latest] = trend.latest
    assert "<script>alert(1)</script>" in latest.text
    assert latest.time_text == "04-03-2025 10:00 WITA"
    assert latest.url == ""  # a javascript: address never becomes a link
    html = trend_html(trend)
    lowered = html.lower()
    assert "<script" not in lowered and "<img" not in lowered and "javascript:" not in lowered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    page = parse_page(html)
    assert "<script>alert(1)</script> <img src=x onerror=alert(1)>" in page.visible_text
    assert trend.complaints_per_week == [0, 1]
    assert json.loads(trend_json(trend))["latest_complaints"][0]["text"] == latest.text
    assert_downloads_match_page(html, trend_csv(trend), trend_json(trend))


def test_latest_complaints_link_to_http_posts_only_and_name_their_topics(config, hostile_store):
    store, version = hostile_store
    trend = build_trend(config, store, version, "rsud-sk-lerik", weeks=2, today=date(2025, 3, 5))
    [latest] = trend.latest
    assert latest.url == "https://x.com/someone/status/2"
    assert latest.topic_names == ["Antrean panjang"]
    html = trend_html(trend)
    assert 'href="https://x.com/someone/status/2"' in html
    # A day before the post: nothing yet.
    earlier = build_trend(config, store, version, "rsud-sk-lerik", weeks=1, today=date(2025, 3, 2))
    assert earlier.latest == [] and earlier.total_complaints == 0


def test_latest_complaint_links_pass_the_reports_one_link_rule(tmp_path, config):
    """The trend page links a post the way the digest does (``web_link``): personal data
    out of the query, no javascript:, nothing with spaces or control characters."""
    from monitor.classify import load_model
    from monitor.pipeline import run
    from monitor.report import web_link
    from monitor.store import Store

    texts = [
        "antre dari subuh di rsud sk lerik, dokter belum datang sampai siang",
        "rsud sk lerik obat habis lagi, disuruh beli sendiri di apotek luar",
        "petugas rsud sk lerik kasar sekali waktu saya tanya jadwal poli anak",
    ]
    urls = [
        "https://x.com/a/status/3?nik=5371012345678901&hp=081234567890",
        "JavaScript:alert(1)//https://x.com",
        "https://x.com/a/status/5\tonmouseover=alert(1)",
    ]
    config.sources = [
        replay(
            tmp_path,
            [
                {
                    "id": f"l{n}",
                    "text": text,
                    "created_at": f"2025-03-0{n + 2}T01:00:00Z",
                    "url": url,
                }
                for n, (text, url) in enumerate(zip(texts, urls, strict=True))
            ],
        )
    ]
    run(config)
    with Store.open(config.database) as store:
        trend = build_trend(
            config, store, load_model().version, "rsud-sk-lerik", weeks=2, today=date(2025, 3, 5)
        )
    redacted = "https://x.com/a/status/3?nik=%5BNIK%5D&hp=%5BTELEPON%5D"
    by_day = {item.created_at[:10]: item.url for item in trend.latest}
    assert by_day == {"2025-03-02": redacted, "2025-03-03": "", "2025-03-04": ""}
    assert sorted(by_day.values()) == sorted(web_link(url) for url in urls)
    html = trend_html(trend)
    for page in (html, trend_json(trend), trend_csv(trend)):
        assert "5371012345678901" not in page and "081234567890" not in page
        assert "javascript:" not in page.lower() and "onmouseover" not in page
    assert parse_page(html).links == [redacted]
