"""`monitor demo` end to end, as a new user runs it, plus the bundled data it relies on."""

from __future__ import annotations

import json
import re
import sqlite3
from html.parser import HTMLParser

import pytest

from monitor.cli import main
from monitor.collectors.replay import bundled_demo_path
from monitor.config import example_config
from monitor.demo import DEMO_MARKER, DemoFolderInUse, clear_demo_folder, run_demo
from monitor.labels import SECTORS, TOPICS
from monitor.store import Store


class TagCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, list]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_data(self, data):
        self.text.append(data)


def test_demo_runs_offline_and_writes_a_digest(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    digest_path = re.search(r"Digest:\s+(\S+\.html)", out).group(1)
    html = (tmp_path / digest_path).read_text(encoding="utf-8")
    text = (tmp_path / digest_path.replace(".html", ".txt")).read_text(encoding="utf-8")

    with Store.open(tmp_path / "monitor-demo" / "monitor.db") as store:
        posts = store.count_posts()
        analyses = store.db.execute("SELECT count(*) FROM analysis").fetchone()[0]  # no reader
        days = len(store.complaints_per_day("0000-01-01", "9999-12-31"))  # a row per day
    lines = sum(1 for line in bundled_demo_path().open(encoding="utf-8") if line.strip())
    assert posts == lines >= 300
    assert analyses == posts
    assert days >= 28  # spread over the last 30 days

    # The story in the demo data: RSUD S.K. Lerik spikes yesterday, and the digest says so.
    spikes = html.split(">Lonjakan<")[1].split("Instansi menurut")[0]
    assert "RSUD S.K. Lerik" in spikes and "obat" in spikes
    assert "RSUD S.K. Lerik" in text
    # the footer names the model that classified, with its version
    from monitor.classify import load_model

    assert f"versi {load_model().version}" in html

    # Personal data never reaches the report; the placeholders do.
    for report in (html, text):
        assert not re.search(r"(?<!\d)\d{16}(?!\d)", report)
        assert not re.search(
            r"(?<![\w+])(?:\+62|62|0)8\d{8,11}", report.replace("-", "").replace(" ", "")
        )
        assert "@gmail.com" not in report

    # HTML is well-formed enough for a mail client: no scripts, no event handlers.
    parser = TagCollector()
    parser.feed(html)
    assert not [t for t, _ in parser.tags if t in ("script", "iframe", "object")]
    assert not [a for _, attrs in parser.tags for a, _ in attrs if a.startswith("on")]


def test_demo_shows_everything_the_product_makes_and_every_command_works_on_it(
    tmp_path, monkeypatch, capsys
):
    """A new user sees the digest and the site with its agency pages, is told where each
    is, and can go on with any command on the demo's own config file."""
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "-q"]) == 0
    out = capsys.readouterr().out
    site = tmp_path / re.search(r"Site:\s+(\S+index\.html)", out).group(1)
    assert site.is_file()
    lerik = site.parent / "agency" / "rsud-sk-lerik.html"
    assert lerik.is_file() and (site.parent / "agency" / "rsud-sk-lerik.csv").is_file()
    assert "RSUD S.K. Lerik" in lerik.read_text(encoding="utf-8")
    pages = len(list((site.parent / "agency").glob("*.html")))
    assert f"{pages} agency trend pages" in out
    config = re.search(r"Config:\s+(\S+monitor\.toml)", out).group(1)
    assert f"monitor --config {config} doctor" in out

    assert main(["--config", config, "site", "--out", str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / "agency" / "rsud-sk-lerik.html").is_file()
    assert main(["--config", config, "doctor"]) == 0
    capsys.readouterr()
    # Without --config, the refusal points at the demo's config.
    assert main(["site", "--out", str(tmp_path / "x")]) == 2
    assert "--config monitor-demo/monitor.toml" in capsys.readouterr().err


def test_demo_twice_starts_fresh(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "-q"]) == 0
    first = (
        sqlite3.connect(tmp_path / "monitor-demo" / "monitor.db")
        .execute("SELECT count(*), sum(is_complaint) FROM analysis")
        .fetchone()
    )
    assert main(["demo", "-q"]) == 0
    second = (
        sqlite3.connect(tmp_path / "monitor-demo" / "monitor.db")
        .execute("SELECT count(*), sum(is_complaint) FROM analysis")
        .fetchone()
    )
    assert first == second


def test_demo_never_deletes_what_it_did_not_make(tmp_path, capsys):
    """An operator who tries the demo in the production folder keeps the database and
    the digest archive: the demo refuses, names what it found, and touches nothing."""
    production = tmp_path / "prod"
    (production / "reports").mkdir(parents=True)
    (production / "reports" / "digest-2026-11-30.html").write_text("arsip", encoding="utf-8")
    (production / "monitor.db").write_bytes(b"SQLite format 3\x00 data of the office")
    (production / "monitor.toml").write_text("# the office's own config\n", encoding="utf-8")
    assert main(["demo", "-q", "--dir", str(production)]) == 2
    error = capsys.readouterr().err
    assert "monitor.db" in error and "reports" in error and "--dir" in error
    assert "monitor.toml" in error
    assert (production / "monitor.toml").read_text() == "# the office's own config\n"
    assert (production / "monitor.db").read_bytes().endswith(b"data of the office")
    assert (production / "reports" / "digest-2026-11-30.html").read_text() == "arsip"
    assert not (production / ".monitor-demo").exists()


def test_demo_in_an_unrelated_folder_leaves_its_files_alone(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "catatan.txt").write_text("jangan dihapus", encoding="utf-8")
    assert main(["demo", "-q", "--dir", str(folder)]) == 0
    assert (folder / "catatan.txt").read_text() == "jangan dihapus"
    assert (folder / ".monitor-demo").is_file() and (folder / "monitor.db").exists()


def test_the_demo_folder_rule_is_a_library_call(tmp_path):
    """What the command does, a notebook or test can do the same way: the folder is
    marked, a marked folder is cleared of what the demo made and nothing else, and an
    unmarked folder holding a database is refused before anything runs."""
    folder = tmp_path / "demo"
    clear_demo_folder(folder)
    assert (folder / DEMO_MARKER).is_file()
    (folder / "monitor.db").write_bytes(b"old demo")
    (folder / "site").mkdir()
    (folder / "catatan.txt").write_text("jangan dihapus", encoding="utf-8")
    clear_demo_folder(folder)
    assert not (folder / "monitor.db").exists() and not (folder / "site").exists()
    assert (folder / "catatan.txt").read_text(encoding="utf-8") == "jangan dihapus"

    production = tmp_path / "prod"
    production.mkdir()
    (production / "monitor.db").write_bytes(b"data of the office")
    with pytest.raises(DemoFolderInUse, match="monitor.db"):
        run_demo(production)
    assert (production / "monitor.db").read_bytes() == b"data of the office"
    assert not (production / DEMO_MARKER).exists()


def test_bundled_demo_posts_are_valid(tmp_path):
    agencies = {a.id for a in example_config(tmp_path).agencies}
    seen: set[str] = set()
    complaints = 0
    for number, line in enumerate(bundled_demo_path().open(encoding="utf-8"), start=1):
        post = json.loads(line)
        where = f"demo_posts.jsonl:{number}"
        assert post["id"] not in seen, where
        for parent in (post.get("repost_of"), post.get("reply_to")):
            assert parent is None or parent in seen, where
        seen.add(post["id"])
        assert 0 <= post["days_ago"] <= 29 and re.match(r"^\d\d:\d\d$", post["time"]), where
        label = post["label"]
        assert label["sector"] is None or label["sector"] in SECTORS, where
        assert set(label["topics"]) <= set(TOPICS), where
        assert label["agency"] is None or label["agency"] in agencies, where
        assert label["is_complaint"] or not label["topics"], where
        complaints += label["is_complaint"]
    assert 0.5 <= complaints / len(seen) <= 0.75
