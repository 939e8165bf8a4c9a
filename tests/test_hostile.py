"""Hostile and broken input through the real pipeline (tests/fixtures/hostile/).

Every corpus file goes through ``monitor.pipeline.run`` with a real replay (or
file_import) source into a real SQLite file. For each file, every record must be
either stored or rejected with a reason in the run record, the source must not
fail, the digest must show hostile text as text, and the database must stay
intact. The corpus and what each file holds: tests/fixtures/hostile/README.md.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import sys
import unicodedata
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from monitor.classify import load_model
from monitor.cli import EXIT_USAGE, main
from monitor.config import SourceConfig, example_config_text
from monitor.pipeline import run
from monitor.store import Store
from monitor.text.html import html_to_text

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"
DAY = date(2026, 11, 20)  # the corpus' posts are from this day (WITA and UTC)
SOURCE = "hostile"
TABLES = {
    "meta",
    "posts",
    "analysis",
    "agencies",
    "cursors",
    "runs",
    "run_sources",
    "daily_counts",
    "labels",
    "post_sketch",
    "outbox",
}
JSONL_FILES = sorted(p.name for p in HOSTILE.glob("*.jsonl"))
SAFE_URL_SCHEMES = ("http", "https", "cid", "mailto")
# Characters that change how the rest of a line (or the terminal) shows text.
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


# --- helpers ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def shipped_model():
    """The real shipped model, loaded once for the module instead of once per run."""
    return load_model()


@pytest.fixture
def one_model():
    return shipped_model()


def replay(path: Path) -> SourceConfig:
    return SourceConfig(name=SOURCE, type="replay", path=str(path), region="kota-kupang")


def run_file(config, tmp_path: Path, name: str, source: SourceConfig | None = None):
    """Copy one corpus file next to the database and run the pipeline on it."""
    path = tmp_path / name
    shutil.copyfile(HOSTILE / name, path)
    config.sources = [source or replay(path)]
    report = run(config, digest_day=DAY, model=shipped_model())
    return report, path


def source_record(config, run_id: int) -> dict:
    with Store.open(config.database) as store:
        [row] = store.db.execute_returning_dicts(
            "SELECT * FROM run_sources WHERE run_id = ? AND source = ?", [run_id, SOURCE]
        )
    row["rejections"] = json.loads(row["rejections"])
    return row


def stored_posts(config) -> dict[str, dict]:
    with Store.open(config.database) as store:
        rows = store.db.execute_returning_dicts("SELECT * FROM posts WHERE source = ?", [SOURCE])
    return {row["source_id"]: row for row in rows}


def nonblank_lines(path: Path) -> list[tuple[int, bytes]]:
    """The physical lines a replay source reads, numbered from 1, blank ones left out."""
    return [
        (number, raw)
        for number, raw in enumerate(path.read_bytes().split(b"\n"), start=1)
        if raw.strip()
    ]


def rejected_lines(rejections: list[str], file_name: str) -> dict[int, str]:
    """{line number: reason} from reasons such as 'posts.jsonl:4: missing text'."""
    found = {}
    for reason in rejections:
        match = re.match(rf"^{re.escape(file_name)}:(\d+): (.+)$", reason, re.S)
        assert match, f"rejection without 'file:line: reason': {reason!r}"
        found[int(match.group(1))] = match.group(2)
    return found


def assert_every_record_accounted_for(config, report, path: Path) -> dict[int, str]:
    """Each line of the file is stored, a duplicate of a stored one, or rejected with a
    reason; the source did not fail. Returns the rejected lines with their reasons."""
    record = source_record(config, report.run_id)
    assert record["error"] == "", (
        f"{path.name}: the source failed instead of rejecting the bad records; "
        f"nothing after the failing batch is stored: {record['error']}"
    )
    lines = nonblank_lines(path)
    rejected = rejected_lines(record["rejections"], path.name)
    assert record["fetched"] == len(lines), record
    assert record["new"] + record["duplicates"] + record["rejected"] == record["fetched"], record
    assert len(rejected) == record["rejected"], record["rejections"]
    assert all(reason.strip() for reason in rejected.values())
    stored = stored_posts(config)
    assert len(stored) == record["new"]
    for number, raw in lines:
        if number in rejected:
            continue
        post_id = str(json.loads(raw.decode("utf-8"))["id"])
        assert post_id in stored, f"{path.name}:{number}: neither stored nor rejected"
    return rejected


class DigestHTML(HTMLParser):
    """What a browser would make of the digest: elements, attributes and text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []  # (tag, name, value)
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)


def parse_digest(report) -> tuple[DigestHTML, str, str]:
    html_path = next(Path(p) for p in report.digest_paths if p.endswith(".html"))
    text_path = next(Path(p) for p in report.digest_paths if p.endswith(".txt"))
    html = html_path.read_text(encoding="utf-8")
    parser = DigestHTML()
    parser.feed(html)
    parser.close()
    text = text_path.read_bytes().decode("utf-8")  # strict: the file must be UTF-8
    return parser, html, text


def assert_digest_shows_text_as_text(report) -> DigestHTML:
    parser, _, text = parse_digest(report)
    assert not {"script", "iframe", "object", "embed", "svg", "style", "base", "form"} & set(
        parser.tags
    ), sorted(set(parser.tags))
    assert [tag for tag in parser.tags if tag == "img"] == ["img"]  # only the chart
    handlers = [(tag, name) for tag, name, _ in parser.attributes if name.startswith("on")]
    assert not handlers, f"event-handler attributes in the digest: {handlers}"
    for tag, name, value in parser.attributes:
        if name in ("href", "src", "action", "formaction", "xlink:href"):
            scheme = re.match(r"^\s*([a-zA-Z][a-zA-Z0-9+.\-]*):", value)
            assert scheme is None or scheme.group(1).lower() in SAFE_URL_SCHEMES, (
                f"<{tag} {name}={value!r}>: a post's link becomes a clickable script"
            )
    assert_text_digest_intact(text)
    return parser


def assert_text_digest_intact(text: str) -> None:
    for heading in (
        "RINGKASAN HARIAN PENGADUAN LAYANAN PUBLIK",
        "INSTANSI MENURUT JUMLAH PENGADUAN",
        "CONTOH PENGADUAN",
        "KESEHATAN DATA",
    ):
        assert f"\n{heading}" in f"\n{text}", f"heading {heading!r} missing or broken"
    controls = sorted(
        {
            f"U+{ord(c):04X}"
            for c in text
            if (unicodedata.category(c) == "Cc" and c not in "\n\t") or c in BIDI_CONTROLS
        }
    )
    assert not controls, f"the text digest carries control characters from posts: {controls}"


def assert_database_intact(config) -> None:
    with Store.open(config.database) as store:
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert store.db.execute("PRAGMA foreign_key_check").fetchall() == []
        names = {
            r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        assert TABLES <= names, f"tables missing: {TABLES - names}"
        assert store.db.execute("SELECT count(*) FROM runs").fetchone()[0] >= 1


# --- every corpus file: stored or rejected, never a failure ------------------------------


@pytest.mark.parametrize("name", [n for n in JSONL_FILES if n != "long_words.jsonl"])
def test_every_record_is_stored_or_rejected_and_nothing_breaks(tmp_path, config, one_model, name):
    report, path = run_file(config, tmp_path, name)
    assert not report.errors, report.errors
    assert_every_record_accounted_for(config, report, path)
    assert_digest_shows_text_as_text(report)
    assert_database_intact(config)
    # The analyses exist for every stored post (processing did not skip any).
    with Store.open(config.database) as store:
        unprocessed = list(store.posts_to_process(one_model.version))  # batches left
    assert unprocessed == []


def test_a_second_run_over_the_same_hostile_files_adds_nothing(tmp_path, config, one_model):
    paths = []
    for name in ("html_script.jsonl", "duplicate_ids.jsonl", "nul_bytes.jsonl"):
        shutil.copyfile(HOSTILE / name, tmp_path / name)
        paths.append(tmp_path / name)
    config.sources = [
        SourceConfig(name=f"h{i}", type="replay", path=str(p), region="kota-kupang")
        for i, p in enumerate(paths)
    ]
    run(config, digest_day=DAY, model=shipped_model())
    with Store.open(config.database) as store:
        before = store.count_posts()
        store.db.execute("DELETE FROM cursors")  # read every file again from its first line
        store.db.conn.commit()
    report = run(config, digest_day=DAY, model=shipped_model())
    assert sum(s.new for s in report.sources) == 0
    assert report.processed == 0
    with Store.open(config.database) as store:
        assert store.count_posts() == before


# --- what particular files must show ----------------------------------------------------


def test_invalid_utf8_lines_are_rejected_and_their_neighbours_kept(tmp_path, config, one_model):
    report, path = run_file(config, tmp_path, "invalid_utf8.jsonl")
    rejected = assert_every_record_accounted_for(config, report, path)
    assert set(rejected) == {2, 4, 5, 6, 7, 8}
    assert set(stored_posts(config)) == {"u1", "u3", "u9"}


def test_nul_bytes_are_stored_or_rejected_and_do_not_break_the_text_digest(
    tmp_path, config, one_model
):
    report, path = run_file(config, tmp_path, "nul_bytes.jsonl")
    rejected = assert_every_record_accounted_for(config, report, path)
    assert set(rejected) == {5, 6}  # a raw NUL byte is not valid JSON
    stored = stored_posts(config)
    assert set(stored) == {"n1", "n2", "n3\x00x", "n4", "n7"}
    assert stored["n1"]["text"] == json.loads(path.read_text().splitlines()[0])["text"]
    assert_digest_shows_text_as_text(report)


def test_control_characters_do_not_break_the_text_digest(tmp_path, config, one_model):
    report, path = run_file(config, tmp_path, "control_chars.jsonl")
    assert_every_record_accounted_for(config, report, path)
    _, _, text = parse_digest(report)
    assert_text_digest_intact(text)


def test_html_in_posts_is_shown_as_text(tmp_path, config, one_model):
    report, path = run_file(config, tmp_path, "html_script.jsonl")
    assert_every_record_accounted_for(config, report, path)
    parser = assert_digest_shows_text_as_text(report)
    shown = "".join(parser.text)
    # Markup that was text in the post is shown as text, never dropped or executed.
    assert re.search(r"<script>alert\(\d\)</script>|<img src=x onerror=alert\(\d\)>", shown), (
        "no hostile example made it into the digest; the check above proved nothing"
    )
    stored = stored_posts(config)
    assert stored["h2"]["text"].endswith("<script>alert(2)</script>")  # entities decoded


def test_links_from_posts_never_become_scripts(tmp_path, config, one_model):
    report, path = run_file(config, tmp_path, "hostile_urls.jsonl")
    assert_every_record_accounted_for(config, report, path)
    parser, _, _ = parse_digest(report)
    hrefs = [value for tag, name, value in parser.attributes if name == "href"]
    assert hrefs, "no example with a link in the digest; the check below proved nothing"
    bad = [h for h in hrefs if not re.match(r"^https?://", h.strip(), re.I)]
    assert not bad, f"digest links to non-web URLs taken from posts: {bad}"


def test_sql_looking_text_is_stored_verbatim_and_the_tables_survive(tmp_path, config, one_model):
    report, path = run_file(config, tmp_path, "sql_injection.jsonl")
    assert_every_record_accounted_for(config, report, path)
    stored = stored_posts(config)
    originals = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for original in originals:
        row = stored[str(original["id"])]
        assert row["text"] == original["text"]
    assert stored["q1"]["text"] == "'); DROP TABLE posts;--"
    assert stored["q4"]["platform"] == "x'); DROP TABLE daily_counts;--"
    assert_database_intact(config)
    with Store.open(config.database) as store:
        # nothing in a post is ever executed: no database attached, schema unchanged
        assert [r[1] for r in store.db.execute("PRAGMA database_list")] == ["main"]
        assert store.count_posts() == len(originals)
        assert store.db.execute("SELECT count(*) FROM analysis").fetchone()[0] == len(originals)
        assert store.complaints_by_day_agency_topic("0000-01-01", "9999-12-31")  # counts written


def test_duplicate_ids_keep_the_first_text_and_are_counted(tmp_path, config, one_model):
    report, path = run_file(config, tmp_path, "duplicate_ids.jsonl")
    assert_every_record_accounted_for(config, report, path)
    record = source_record(config, report.run_id)
    assert (record["new"], record["duplicates"], record["rejected"]) == (4, 3, 0)
    stored = stored_posts(config)
    assert set(stored) == {"d1", "7", "d2", "d2 "}
    assert stored["d1"]["text"].startswith("Sudah 3 bulan KTP")
    assert stored["7"]["text"] == "numeric id 7"


def test_empty_and_non_text_text(tmp_path, config, one_model):
    report, path = run_file(config, tmp_path, "empty_text.jsonl")
    rejected = assert_every_record_accounted_for(config, report, path)
    assert {4, 5, 6, 7, 8} <= set(rejected)  # no text, null, a number, a list, an object
    for row in stored_posts(config).values():
        assert row["text"] == row["text"].strip()


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("timestamps_future.jsonl", {"f6"}),
        ("timestamps_1970.jsonl", {"o6"}),
        ("timestamps_malformed.jsonl", {"m10", "m11"}),
        ("missing_ids.jsonl", {"ok1"}),
        ("json_array.jsonl", {"a8"}),
        ("relative_times.jsonl", {"r7"}),
    ],
)
def test_records_that_cannot_be_posts_are_rejected_with_a_reason(
    tmp_path, config, one_model, name, kept
):
    report, path = run_file(config, tmp_path, name)
    rejected = assert_every_record_accounted_for(config, report, path)
    assert set(stored_posts(config)) == kept
    assert len(rejected) == len(nonblank_lines(path)) - len(kept)


def test_lone_surrogates_never_stop_the_source(tmp_path, config, one_model):
    report, path = run_file(config, tmp_path, "lone_surrogates.jsonl")
    assert_every_record_accounted_for(config, report, path)
    stored = stored_posts(config)
    assert {"s4", "s5"} <= set(stored)
    for row in stored.values():
        row["text"].encode("utf-8")  # whatever is stored is valid Unicode text


def test_100kb_posts_are_stored_whole_and_redacted(tmp_path, config, one_model):
    report, path = run_file(config, tmp_path, "post_100kb.jsonl")
    assert_every_record_accounted_for(config, report, path)
    stored = stored_posts(config)
    originals = {r["id"]: r for r in map(json.loads, path.read_text().splitlines())}
    assert stored["big1"]["text"] == originals["big1"]["text"].strip()
    assert stored["big3"]["text"] == html_to_text(originals["big3"]["text"])
    assert "0812" not in stored["big2"]["text_display"]
    assert "5371012345678901" not in stored["big2"]["text_display"]


def test_very_long_words_are_handled_in_bounded_time(tmp_path):
    """A 100 KB single word (what a partner's push or an export can deliver) must not
    stall the cron run: the whole run, in its own process, gets 30 s on a slow machine
    (a run of these six posts takes about 5 s when every step is linear)."""
    shutil.copyfile(HOSTILE / "long_words.jsonl", tmp_path / "long_words.jsonl")
    config_path = tmp_path / "monitor.toml"
    config_path.write_text(
        example_config_text()
        + f'\n[[sources]]\nname = "{SOURCE}"\ntype = "replay"\npath = "long_words.jsonl"\n',
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "monitor", "--config", str(config_path), "run"]
    command += ["--date", DAY.isoformat()]
    try:
        finished = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(
            "a run over six posts with 100 KB words did not finish in 30 s "
            "(quadratic regular expressions: see the report)"
        )
    assert finished.returncode == 0, finished.stderr[-2000:]
    with Store.open(tmp_path / "monitor.db") as store:
        assert store.count_posts() == 6
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_csv_rows_with_the_wrong_number_of_columns_are_rejected(tmp_path, config, one_model):
    path = tmp_path / "wrong_columns.csv"
    shutil.copyfile(HOSTILE / "wrong_columns.csv", path)
    source = SourceConfig(
        name=SOURCE,
        type="file_import",
        path=str(path),
        region="kota-kupang",
        options={"format": "csv", "columns": {}, "encoding": "utf-8", "delimiter": ","},
    )
    report, _ = run_file(config, tmp_path, "wrong_columns.csv", source)
    record = source_record(config, report.run_id)
    assert record["error"] == ""
    rejected = rejected_lines(record["rejections"], path.name)
    assert set(rejected) == {3, 4, 6, 7, 8, 12}, rejected
    assert "2 columns, the header has 3" in rejected[3]
    assert "6 columns, the header has 3" in rejected[4]
    assert set(stored_posts(config)) == {"c1", "c7", "c8", "c9"}
    assert (record["fetched"], record["new"], record["rejected"]) == (10, 4, 6)
    assert_digest_shows_text_as_text(report)
    assert_database_intact(config)


# --- configuration files ----------------------------------------------------------------

WRONG_TYPE_KEYS = [
    "database",
    "reports_dir",
    "timezone",
    "default_region",
    "regions",
    "agencies",
    "privacy.raw_retention_days",
    "privacy.post_retention_days",
    "privacy.pseudonym_key_env",
    "privacy.show_author_handles",
    "digest.recipients",
    "digest.send_time",
    "digest.agency_recipients",
    "digest.smtp.port",
    "digest.smtp.starttls",
    "http.timeout_seconds",
    "http.retries",
    "http.max_wait_seconds",
    "ingest.port",
    "ingest.max_body_bytes",
    "schedule.process_every",
    "schedule.misfire_grace_seconds",
    "operations.log_max_bytes",
    "operations.log_backups",
    "sources[0].enabled",
    "sources[0].queries",
    "sources[0].credentials",
    "sources[0].path",
    "sources[1].name",
    "sources[1].format",
    "sources[1].columns",
    "sources[1].delimiter",
]


def test_a_config_with_wrong_types_exits_2_naming_every_key(tmp_path, capsys):
    path = tmp_path / "monitor.toml"
    shutil.copyfile(HOSTILE / "config_wrong_types.toml", path)
    assert main(["--config", str(path), "run"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "Traceback" not in err
    problems = [line.strip() for line in err.splitlines() if line.startswith("  ")]
    for key in WRONG_TYPE_KEYS:
        assert any(p.startswith(f"{key}:") for p in problems), f"{key} not named:\n{err}"
    assert not list(tmp_path.glob("*.db*")), "a config error must not create a database"


def test_a_config_with_unusable_values_exits_2_naming_every_key(tmp_path, capsys):
    path = tmp_path / "monitor.toml"
    shutil.copyfile(HOSTILE / "config_hostile_values.toml", path)
    try:
        code = main(["--config", str(path), "run"])
    except Exception as exc:  # noqa: BLE001 - the failure to report is the traceback itself
        pytest.fail(f"monitor run crashed on the config instead of exiting 2: {exc!r}")
    err = capsys.readouterr().err
    assert code == EXIT_USAGE, err
    problems = [line.strip() for line in err.splitlines() if line.startswith("  ")]
    for key in ("database", "reports_dir", "sources[0].name", "sources[0].path"):
        assert any(p.startswith(f"{key}:") for p in problems), f"{key} not named:\n{err}"


@pytest.mark.parametrize(
    "extra",
    [
        {"meta": {"score": float("nan")}},
        {"meta": [1, {"deep": float("inf")}]},
        {"meta": {"k\udc80": 1}},
        {"meta": ["ok", ["\ud800"]]},
    ],
)
def test_a_record_that_cannot_be_stored_is_refused_wherever_the_fault_sits(extra):
    from monitor.collectors.replay import post_from_record

    record = {"id": "n1", "text": "antre ktp", "created_at": "2026-11-20T16:00:00Z"}
    kwargs = dict(
        source="t", region="", now=datetime(2026, 11, 21, tzinfo=UTC), timezone="Asia/Makassar"
    )
    assert post_from_record(dict(record, meta={"fine": [1.5, "ya"]}), **kwargs).source_id == "n1"
    with pytest.raises(ValueError, match="n1: not valid UTF-8 text or a non-finite number"):
        post_from_record(dict(record, **extra), **kwargs)
