"""The rolling comparison's edges in local time (WITA, UTC+8), through the real pipeline.

The 7 days to Wednesday 5 March 2025 are 27 February to 5 March (WITA); the 7 before
are 20 to 26 February. A post at 00:30 WITA on 27 February (16:30 UTC the day before)
is day 7 back and counts in the later period; one at 23:30 WITA on 26 February (day 8)
counts in the earlier one. UTC dates would put both on the wrong side.
"""

from __future__ import annotations

from datetime import date

import pytest

from monitor.report.trend import build_trend
from monitor.report.trend_records import Change
from monitor.report.trend_render import trend_html
from monitor.store import Store
from tests.test_trend import AGENCY, parse_page, replay

TODAY = date(2025, 3, 5)
KOTA = "dukcapil kota kupang"

# (id, UTC time, text): distinct complaints, so none is taken for a copy of another.
POSTS = [
    # 20 Feb 00:30 WITA (19 Feb in UTC): day 14 back, the first of the earlier 7 days
    ("day14", "2025-02-19T16:30:00Z", f"ktp saya sudah 2 bulan belum jadi di {KOTA}"),
    # 26 Feb 23:30 WITA: day 8 back, the last of the earlier 7 days
    ("day8", "2025-02-26T15:30:00Z", f"kk baru sudah sebulan belum dicetak di {KOTA}"),
    # 27 Feb 00:30 and 00:40 WITA (26 Feb in UTC): day 7 back, the first of the last 7
    ("day7", "2025-02-26T16:30:00Z", f"urus akta kelahiran di {KOTA} sudah 6 minggu belum jadi"),
    ("day7b", "2025-02-26T16:40:00Z", f"antre dari subuh di {KOTA}, petugas tidak datang"),
    # 5 Mar 23:30 WITA: the report day itself
    (
        "day1",
        "2025-03-05T15:30:00Z",
        f"sudah 3 kali bolak balik ke {KOTA} tapi surat pindah belum selesai juga",
    ),
    # 6 Mar 00:30 WITA (5 Mar in UTC): after the report day
    (
        "day0",
        "2025-03-05T16:30:00Z",
        f"saya dimintai uang 200 ribu oleh petugas {KOTA} supaya e-ktp cepat jadi, ini pungli",
    ),
    # collection ran before the 14 days compared
    ("ran", "2025-02-14T01:00:00Z", "air pdam kota kupang mati sudah 3 hari di oebobo"),
]


@pytest.fixture
def piped(tmp_path, config):
    from monitor.classify import load_model
    from monitor.pipeline import run

    lines = [{"id": key, "created_at": moment, "text": text} for key, moment, text in POSTS]
    config.sources = [replay(tmp_path, lines)]
    run(config)
    with Store.open(config.database) as store:
        yield config, store, load_model().version


def test_day_7_is_in_the_last_7_days_and_day_8_in_the_7_before_in_wita(piped):
    config, store, version = piped
    trend = build_trend(config, store, version, AGENCY, weeks=3, today=TODAY)
    comparison = trend.comparison
    assert (comparison.earlier_first, comparison.earlier_last) == (
        date(2025, 2, 20),
        date(2025, 2, 26),
    )
    assert (comparison.later_first, comparison.later_last) == (date(2025, 2, 27), TODAY)
    # Earlier: day14, day8; later: day7, day7b, day1; day0 is after the report day.
    # By UTC dates it would be the other way round (3 earlier, 2 later: a fall).
    assert comparison.total == Change(2, 3)
    text = parse_page(trend_html(trend)).visible_text
    assert "7 hari terakhir (27 Feb – 5 Mar 2025)" in text
    assert "7 hari sebelumnya: 20–26 Feb 2025, 2 pengaduan" in text
    assert "3 pengaduan dalam 7 hari terakhir (27 Feb – 5 Mar 2025): ▲ naik dari 2 pada" in text


def test_moving_the_report_day_moves_the_edge_posts_across(piped):
    config, store, version = piped
    # Report day 4 March: the last 7 days are 26 Feb - 4 Mar (day8, day7, day7b); the
    # 7 before are 19-25 Feb (day14).
    before = build_trend(config, store, version, AGENCY, weeks=3, today=date(2025, 3, 4))
    assert (before.comparison.later_first, before.comparison.earlier_first) == (
        date(2025, 2, 26),
        date(2025, 2, 19),
    )
    assert before.comparison.total == Change(1, 3)
    # Report day 6 March: the last 7 days are 28 Feb - 6 Mar (day1, day0); the 7 before
    # are 21-27 Feb (day8, day7, day7b).
    after = build_trend(config, store, version, AGENCY, weeks=3, today=date(2025, 3, 6))
    assert after.comparison.later_first == date(2025, 2, 28)
    assert after.comparison.total == Change(3, 2)
    assert "turun dari 3 pada 7 hari sebelumnya" in trend_html(after)
