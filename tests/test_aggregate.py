"""Cases (reposts and copies collapse) and daily counts of cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.aggregate import assign_cases
from monitor.records import StoredPost
from monitor.store import Store
from monitor.text.redact import redact
from tests.conftest import make_post

BASE = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
ORIGINAL = (
    "Sudah tiga bulan KTP saya belum jadi di Dukcapil Kota Kupang, "
    "petugas bilang blanko habis terus"
)


def stored(store: Store) -> list[StoredPost]:
    return [post for batch in store.posts_to_process("none") for post in batch]


def add(store, posts):
    store.add_posts(
        posts, display_text=redact, author_key=lambda p: p.author_handle, keep_raw=False
    )


def cases_of(store):
    return dict(store.db.execute("SELECT source_id, coalesce(case_id, id) FROM posts").fetchall())


def test_reposts_copies_and_near_copies_join_one_case(store):
    add(
        store,
        [
            make_post("1", ORIGINAL, author_handle="a", created_at=BASE),
            make_post(
                "2",
                "RT " + ORIGINAL,
                author_handle="b",
                created_at=BASE + timedelta(minutes=5),
                is_repost=True,
                parent_source_id="1",
            ),
            make_post(
                "3",
                ORIGINAL + " #KupangKotaKasih @dukcapil",
                author_handle="c",
                created_at=BASE + timedelta(hours=1),
            ),
            make_post(
                "4",
                ORIGINAL.replace("tiga", "3").replace("terus", "terus 😡"),
                author_handle="d",
                created_at=BASE + timedelta(hours=2),
            ),
            make_post(
                "5",
                "Air PDAM di Oebobo mati sudah tiga hari, tolong segera diperbaiki",
                author_handle="e",
                created_at=BASE + timedelta(hours=3),
            ),
            make_post("6", ORIGINAL, author_handle="f", created_at=BASE + timedelta(days=10)),
        ],
    )
    assign_cases(store, stored(store))
    cases = cases_of(store)
    first = cases["1"]
    assert cases["2"] == cases["3"] == cases["4"] == first
    assert cases["5"] != first  # a different complaint
    assert cases["6"] != first  # the same words ten days later: a new case
    assert store.case_sizes([first]) == {first: 4}


def test_cases_are_assigned_once_and_across_batches(store):
    add(store, [make_post("1", ORIGINAL, created_at=BASE)])
    assign_cases(store, stored(store))
    add(store, [make_post("2", ORIGINAL + " tolong", created_at=BASE + timedelta(hours=1))])
    assign_cases(store, stored(store))  # post 1 already has its case; 2 joins it
    cases = cases_of(store)
    assert cases["2"] == cases["1"]


def _analysed(store, source_id: str, normalized: str, agency: str = "") -> None:
    store.db.execute(
        "INSERT INTO analysis (post_id, model_version, is_complaint, complaint_score, sector, "
        "sector_score, topics, topic_scores, agency_id, agency_confidence, agency_evidence, "
        "needs_review, processed_at, text_normalized) SELECT id, 'm', 1, 0.9, 'adminduk', 0.9, "
        "'[]', '{}', ?, 0, '', 0, '2026-11-20T00:00:00Z', ? FROM posts WHERE source_id = ?",
        [agency, normalized, source_id],
    )


def test_an_analysed_post_is_compared_by_its_stored_normalised_text(store):
    from monitor.text.normalize import normalize

    add(store, [make_post("1", ORIGINAL, created_at=BASE)])
    assign_cases(store, stored(store))
    _analysed(store, "1", normalize(ORIGINAL))
    add(store, [make_post("2", ORIGINAL + " tolong", created_at=BASE + timedelta(hours=1))])
    assign_cases(store, stored(store))
    assert cases_of(store)["2"] == cases_of(store)["1"]


def test_the_stored_normalised_text_is_what_is_compared(store):
    # Proof that the stored text is read (and the post not normalised again): when it
    # says something else, the copy no longer matches.
    add(store, [make_post("1", ORIGINAL, created_at=BASE)])
    assign_cases(store, stored(store))
    _analysed(store, "1", "air pdam mati sudah tiga hari tolong segera perbaiki")
    add(store, [make_post("2", ORIGINAL + " tolong", created_at=BASE + timedelta(hours=1))])
    assign_cases(store, stored(store))
    assert cases_of(store)["2"] != cases_of(store)["1"]


def test_short_posts_are_never_called_copies(store):
    add(
        store,
        [
            make_post("1", "ktp belum jadi", created_at=BASE),
            make_post("2", "ktp belum jadi", created_at=BASE + timedelta(hours=1)),
        ],
    )
    assign_cases(store, stored(store))
    cases = cases_of(store)
    assert cases["1"] != cases["2"]
