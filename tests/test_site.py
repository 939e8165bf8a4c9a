"""The static site: every agency's page, its numbers as files, links that work offline."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from monitor.config import AgencyConfig, example_config
from monitor.report.site import build_site
from monitor.store import Store
from tests.test_trend import HOSTILE, PageParser, assert_downloads_match_page, replay

TODAY = date(2025, 3, 5)  # a Wednesday: the week of 3-9 March is still running
WEEKS = 4  # 10 February to 5 March 2025


KOTA = "dukcapil kota kupang"
LERIK = "rsud sk lerik"
# (created_at UTC, text): 3 complaints about Disdukcapil Kota Kupang in the window (one
# hostile), 2 about RSUD S.K. Lerik, 1 about PDAM, 1 naming no agency, 1 before the window.
TEXTS = [
    ("2025-03-04T02:00:00Z", HOSTILE),
    ("2025-02-25T01:00:00Z", f"ktp saya sudah 2 bulan belum jadi di {KOTA}"),
    (
        "2025-02-12T01:00:00Z",
        f"kk baru sudah sebulan belum dicetak di {KOTA}, berkas tidak diproses",
    ),
    ("2025-02-26T01:00:00Z", "air PDAM kota kupang mati sudah 3 hari di oebobo, tolong diperbaiki"),
    ("2025-03-03T01:00:00Z", f"antre dari subuh di {LERIK}, dokter belum datang sampai siang"),
    ("2025-02-18T01:00:00Z", f"antre dari subuh di {LERIK} lagi, 5 jam belum dipanggil"),
    (
        "2025-03-01T01:00:00Z",
        "pelayanan di kantor itu lambat sekali, antre dari pagi belum dipanggil",
    ),
    ("2025-02-05T01:00:00Z", f"urus akta kelahiran di {KOTA} sudah 6 minggu belum jadi"),
]
POSTS = [
    {"id": f"s{i}", "created_at": created_at, "text": text}
    for i, (created_at, text) in enumerate(TEXTS, start=1)
]
POSTS[0]["url"] = "javascript:alert(1)"
POSTS[4]["url"] = "https://x.com/someone/status/5"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The pipeline over hand-made posts, then the site, once for the module."""
    from monitor.classify import load_model
    from monitor.pipeline import run

    folder = tmp_path_factory.mktemp("site")
    config = example_config(folder)
    config.sources = [replay(folder, POSTS)]
    run(config)
    out = folder / "out"
    (out / "agency").mkdir(parents=True)
    (out / "keep.txt").write_text("not ours", encoding="utf-8")
    (out / "agency" / "old-agency.html").write_text("old page", encoding="utf-8")
    with Store.open(config.database) as store:
        version = load_model().version
        paths = build_site(config, store, version, out, weeks=WEEKS, today=TODAY)
    return config, out, paths


def pages(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*.html") if p.name != "old-agency.html")


def parse(path: Path, table_id: str = "angka-per-minggu") -> PageParser:
    parser = PageParser(table_id)
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


def test_every_agency_has_a_page_with_its_numbers_as_csv_and_json(built):
    config, out, paths = built
    assert paths[0] == out / "index.html"
    slugs = [a.id for a in config.agencies] + ["tidak-teridentifikasi"]
    expected = {out / "index.html"} | {
        out / "agency" / f"{slug}.{ext}" for slug in slugs for ext in ("html", "csv", "json")
    }
    assert set(paths) == expected and len(paths) == len(expected)
    assert all(path.is_file() for path in paths)


def test_csv_and_json_equal_the_page_table_for_every_agency(built):
    config, out, _ = built
    checked = 0
    for page in (out / "agency").glob("*.html"):
        if page.name == "old-agency.html":
            continue
        assert_downloads_match_page(
            page.read_text(encoding="utf-8"),
            page.with_suffix(".csv").read_text(encoding="utf-8"),
            page.with_suffix(".json").read_text(encoding="utf-8"),
        )
        checked += 1
    assert checked == len(config.agencies) + 1


def test_known_counts_on_the_pages(built):
    _, out, _ = built
    data = json.loads((out / "agency" / "disdukcapil-kota-kupang.json").read_text())
    # s8 falls before the window (its week is the data's first), s1 in the running week.
    assert [w["complaints"] for w in data["weeks"]] == [1, 0, 1, 1]
    assert [w["week_start"] for w in data["weeks"]] == [
        "2025-02-10",
        "2025-02-17",
        "2025-02-24",
        "2025-03-03",
    ]
    assert data["weeks"][-1]["partial"] is True
    # 7 days to 5 March (s1, 4 March) against 20-26 February (s2, 25 February).
    assert data["comparison"]["complaints"]["text"] == "tetap 1"
    assert data["comparison"]["headline"] == (
        "7 hari terakhir (27 Feb – 5 Mar 2025): 1 pengaduan, sama dengan 7 hari sebelumnya"
    )
    assert data["spikes"] == []
    unresolved = json.loads((out / "agency" / "tidak-teridentifikasi.json").read_text())
    assert unresolved["agency"]["name"] == "Tidak teridentifikasi"
    assert [w["complaints"] for w in unresolved["weeks"]] == [0, 0, 1, 0]


def test_index_lists_agencies_with_complaints_first_by_count(built):
    config, out, _ = built
    index = parse(out / "index.html", table_id="daftar-instansi")
    order = [link.removeprefix("agency/").removesuffix(".html") for link in index.links]
    totals = {
        slug: json.loads((out / "agency" / f"{slug}.json").read_text())["totals"]["complaints"]
        for slug in order
    }
    assert len(order) == len(config.agencies) + 1 and "tidak-teridentifikasi" in order
    counts = [totals[slug] for slug in order]
    with_complaints = [c for c in counts if c]
    assert with_complaints == sorted(with_complaints, reverse=True)
    assert counts == with_complaints + [0] * (len(counts) - len(with_complaints))
    assert order[:2] == ["disdukcapil-kota-kupang", "rsud-sk-lerik"]  # 3 and 2 complaints
    # The table shows the same totals as the files.
    shown = [int(cells[1].replace(".", "")) for _, cells in index.rows]
    assert shown == counts
    html = (out / "index.html").read_text(encoding="utf-8")
    assert html.count("<svg") >= len(order)  # a sparkline per agency
    assert "10 Feb – 5 Mar 2025" in html  # every figure names its window


def test_every_link_points_to_a_file_in_the_site(built):
    _, out, _ = built
    root = out.resolve()
    external = []
    for page in pages(out):
        for link in parse(page).links:
            if link.startswith(("https://", "http://")):
                external.append(link)
                continue
            assert not link.startswith(("/", "file:", "javascript:", "data:")), link
            target = (page.parent / link).resolve()
            assert target.is_file(), f"{page.name}: {link}"
            assert target.is_relative_to(root)
    # The only links out are to the posts themselves (only a post given an address has one).
    assert external and set(external) == {"https://x.com/someone/status/5"}


def test_no_page_runs_script_and_hostile_text_is_shown_as_text(built):
    _, out, _ = built
    for page in pages(out):
        html = page.read_text(encoding="utf-8").lower()
        assert "<script" not in html and "javascript:" not in html and "<img" not in html
    page = out / "agency" / "disdukcapil-kota-kupang.html"
    html = page.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script> <img src=x onerror=alert(1)>" in parse(page).visible_text
    assert 'href="../index.html"' in html
    assert 'href="disdukcapil-kota-kupang.csv"' in html


def test_writes_atomically_and_removes_nothing_it_did_not_write(built):
    _, out, paths = built
    assert (out / "keep.txt").read_text() == "not ours"
    assert (out / "agency" / "old-agency.html").read_text() == "old page"
    leftovers = [p for p in out.rglob("*") if ".tmp-" in p.name]
    assert leftovers == []
    assert {p for p in out.rglob("*") if p.is_file()} == set(paths) | {
        out / "keep.txt",
        out / "agency" / "old-agency.html",
    }


def test_rebuilding_writes_the_same_files(built, tmp_path):
    config, out, paths = built
    from monitor.classify import load_model

    with Store.open(config.database) as store:
        again = build_site(config, store, load_model().version, out, weeks=WEEKS, today=TODAY)
    assert again == paths
    csv_now = (out / "agency" / "rsud-sk-lerik.csv").read_text()
    assert csv_now.splitlines()[1:] == [
        "2025-02-10,2025-02-16,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,full",
        "2025-02-17,2025-02-23,1,0,1,0,0,0,0,0,0,0,0,0,0,1,0,full",
        "2025-02-24,2025-03-02,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,full",
        "2025-03-03,2025-03-09,1,0,1,0,0,0,0,0,0,0,0,0,0,1,1,full",
    ]


def test_an_agency_id_that_clashes_with_the_unresolved_bucket_is_refused(built, tmp_path):
    config, _, _ = built
    clashing = example_config(tmp_path)
    clashing.database = config.database
    clashing.agencies.append(
        AgencyConfig(id="tidak-teridentifikasi", name="Kantor X", sector="lainnya", region="")
    )
    with Store.open(config.database) as store, pytest.raises(ValueError, match="reserved"):
        build_site(clashing, store, "v", tmp_path / "site", weeks=WEEKS, today=TODAY)
    assert not (tmp_path / "site").exists()
