"""Random post records from raw line to report, through the real pipeline.

Hypothesis writes a replay file of random records (odd Unicode, markup, SQL,
random ids that sometimes collide, times with odd offsets, reply and repost
markers that point at other records or at nothing, and some records that are
broken on purpose), runs ``monitor.pipeline.run`` on it, and checks:

- no exception, and the source does not fail;
- every record is either a stored post (or a duplicate of one) or a rejection;
- a rerun adds nothing, even when the whole file is read again;
- the incremental daily counts equal a recomputation from scratch;
- the digest renders and nothing in a post becomes an element or attribute.
"""

from __future__ import annotations

import functools
import json
import re
import tempfile
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from monitor.aggregate import aggregate_days
from monitor.classify import load_model
from monitor.clock import local_date, parse_iso, to_iso
from monitor.config import SourceConfig, example_config
from monitor.pipeline import run
from monitor.store import Store
from monitor.text.html import html_to_text

SOURCE = "fuzz"
# A fixed window in the past: the examples are the same on every day the tests run.
EARLIEST = datetime(2026, 9, 1)
LATEST = datetime(2026, 11, 15)
OFFSETS = [
    timezone(timedelta(hours=h, minutes=m))
    for h, m in ((0, 0), (8, 0), (-5, 0), (14, 0), (5, 45), (-9, -30))
]

FRAGMENTS = [
    "ktp belum jadi di dukcapil kota kupang",
    "obat habis di rsud sk lerik, antre 3 jam",
    "air pdam mati su 5 hari",
    "petugas kasar",
    "tolong!!!",
    "<script>alert(1)</script>",
    "&lt;script&gt;alert(2)&lt;/script&gt;",
    '<img src=x onerror="alert(3)">',
    "&lt;img src=x onerror=alert(4)&gt;",
    '"><svg onload=alert(5)>',
    "'); DROP TABLE posts;--",
    "{{ 7*7 }}{% if %}",
    "\u0000",
    "\u200b",
    "\u202e",
    "\ufeff",
    "\r\n",
    "\u2028",
    "😡",
    "👨‍👩‍👧‍👦",
    "🙏🏽",
    "0812-3456-7890",
    "5371012345678901",
    "a@b.co",
    "@dukcapil_kota",
    "#KtpLambat",
    "https://x.co/a",
    "&amp;",
    "&",
    "<",
    " ",
]
weird_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=25)
post_text = st.lists(st.one_of(weird_text, st.sampled_from(FRAGMENTS)), max_size=10).map("".join)
post_id = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12),
    st.sampled_from(["p1", "p2", "p3", "1", "2"]),  # collisions, also between 1 and "1"
)
moment = st.datetimes(min_value=EARLIEST, max_value=LATEST, timezones=st.sampled_from(OFFSETS))
hostile_url = st.sampled_from(
    ["", "https://x.com/a/status/1", "javascript:alert(1)", 'https://a" onclick="x', "data:,x"]
)


@st.composite
def records(draw) -> tuple[list[dict], list[bool]]:
    """(records, which of them are valid posts) in file order."""
    out: list[dict] = []
    valid: list[bool] = []
    for _ in range(draw(st.integers(min_value=1, max_value=25))):
        earlier = [r["id"] for r, ok in zip(out, valid, strict=True) if ok]
        marker = st.one_of(post_id, st.sampled_from(earlier)) if earlier else post_id
        record = {
            "id": draw(post_id),
            "text": draw(post_text),
            "created_at": draw(moment).isoformat(),
        }
        for key, values in (
            ("reply_to", marker),
            ("repost_of", marker),
            ("platform", st.sampled_from(["x", "mastodon", "<b>x</b>", "\u202ex"])),
            ("author", weird_text),
            ("url", hostile_url),
        ):
            if draw(st.booleans()):
                record[key] = draw(values)
        broken = draw(
            st.sampled_from([None] * 6 + ["no_id", "no_text", "text_not_str", "bad_time", "array"])
        )
        if broken == "no_id":
            del record["id"]
        elif broken == "no_text":
            del record["text"]
        elif broken == "text_not_str":
            record["text"] = draw(st.one_of(st.none(), st.integers(), st.lists(st.integers())))
        elif broken == "bad_time":
            record["created_at"] = draw(st.sampled_from(["", "kemarin", "1970-01-01T00:00:00Z"]))
        elif broken == "array":
            record = [record]  # type: ignore[assignment]
        out.append(record)
        valid.append(broken is None)
    return out, valid


class Elements(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for name, value in attrs:
            self.attributes.add(name)
            if name in ("href", "src"):
                self.links.append(value or "")

    handle_startendtag = handle_starttag


def elements(html: str) -> Elements:
    parser = Elements()
    parser.feed(html)
    parser.close()
    return parser


@functools.lru_cache(maxsize=1)
def shipped_model():
    """The real shipped model, loaded once instead of once per run."""
    return load_model()


@pytest.fixture(scope="module")
def one_model():
    return shipped_model()


BENIGN = {
    "id": "b1",
    "text": (
        "Sudah 3 bulan KTP belum jadi di dukcapil kota kupang, petugas tidak pernah respon, tolong!"
    ),
    "created_at": "2026-11-01T02:00:00Z",
    "url": "https://x.com/a/status/1",
}


@pytest.fixture(scope="module")
def template_elements(one_model):
    """The elements and attributes the digest template itself uses (with one example)."""
    with tempfile.TemporaryDirectory() as folder:
        report, _ = _run(Path(folder), [BENIGN], date(2026, 11, 1))
        found = elements(Path(report.digest_paths[0]).read_text(encoding="utf-8"))
    assert {"a", "img"} <= found.tags  # the example and its link were rendered
    return found


def _run(folder: Path, lines: list, day: date, ensure_ascii: bool = True):
    path = folder / "posts.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(json.dumps(line, ensure_ascii=ensure_ascii) + "\n")
    config = example_config(folder)
    config.sources = [
        SourceConfig(name=SOURCE, type="replay", path=str(path), region="kota-kupang")
    ]
    return run(config, digest_day=day, model=shipped_model()), config


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    # Every example runs the pipeline three times; shrinking a failure could take
    # minutes, so the first failing example is reported as generated.
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(generated=records(), ensure_ascii=st.booleans())
def test_random_posts_from_raw_line_to_report(
    one_model, template_elements, generated, ensure_ascii
):
    lines, valid = generated
    day = local_date(
        parse_iso(
            next(
                (r["created_at"] for r, ok in zip(lines, valid, strict=True) if ok),
                "2026-11-01T00:00:00Z",
            )
        ),
        "Asia/Makassar",
    )
    with tempfile.TemporaryDirectory() as folder:
        report, config = _run(Path(folder), lines, day, ensure_ascii)
        [source] = report.sources
        assert source.error == "", source.error
        assert not report.errors

        # every record: a stored post, a duplicate of one, or a rejection naming its line
        first_by_id: dict[str, dict] = {}
        for record, ok in zip(lines, valid, strict=True):
            if ok:
                first_by_id.setdefault(str(record["id"]), record)
        rejected_numbers = {
            int(re.match(r"^posts\.jsonl:(\d+): .+", reason, re.S).group(1))
            for reason in source.rejections
        }
        assert rejected_numbers == {n for n, ok in enumerate(valid, start=1) if not ok}
        assert source.fetched == len(lines)
        assert source.new == len(first_by_id)
        assert source.duplicates == sum(valid) - len(first_by_id)

        with Store.open(config.database) as store:
            rows = store.db.execute_returning_dicts("SELECT * FROM posts")
            stored = {row["source_id"]: row for row in rows}
            assert set(stored) == set(first_by_id)
            for source_id, row in stored.items():
                original = first_by_id[source_id]
                assert row["text"] == html_to_text(original["text"])
                assert row["created_at"] == to_iso(parse_iso(original["created_at"]))
                assert row["is_repost"] == bool(original.get("repost_of"))
                assert row["is_reply"] == bool(original.get("reply_to"))
            analysed = store.db.execute(
                "SELECT count(DISTINCT post_id), count(*) FROM analysis WHERE model_version = ?",
                [one_model.version],
            ).fetchone()
            assert analysed == (len(stored), len(stored))

            # incremental counts equal a recomputation from scratch
            counts = "SELECT * FROM daily_counts ORDER BY day, agency_id, sector, topic"
            incremental = store.db.execute(counts).fetchall()
            days = {local_date(parse_iso(row["created_at"]), config.timezone) for row in rows}
            with store.db.atomic():
                store.db.execute("DELETE FROM daily_counts")
            aggregate_days(store, days, config.timezone, one_model.version)
            assert store.db.execute(counts).fetchall() == incremental

        # the digest renders; no element or attribute comes from a post
        html = Path(report.digest_paths[0]).read_text(encoding="utf-8")
        Path(report.digest_paths[1]).read_bytes().decode("utf-8")
        found = elements(html)
        assert found.tags <= template_elements.tags, found.tags - template_elements.tags
        assert found.attributes <= template_elements.attributes
        assert all(re.match(r"^(https?://|[\w.-]+\.png$)", link) for link in found.links), (
            found.links
        )

        # rerunning adds nothing: neither from the cursor nor reading the file again
        again = run(config, digest_day=day, model=shipped_model())
        assert (again.sources[0].new, again.processed) == (0, 0)
        with Store.open(config.database) as store:
            with store.db.atomic():
                store.db.execute("DELETE FROM cursors")
        again = run(config, digest_day=day, model=shipped_model())
        assert again.sources[0].new == 0
        assert again.sources[0].duplicates == sum(valid)
        assert again.processed == 0
        with Store.open(config.database) as store:
            assert store.count_posts() == len(first_by_id)
