"""Daily counts: one row per local day, agency, sector and topic, written from posts and
their analyses (cases counted once) and read by the digest, the trend pages and the
spike check."""

from __future__ import annotations

from typing import Any

from monitor.store.base import StoreBase
from monitor.store.rows import DayAgencyTopic


class CountsMixin(StoreBase):
    # --- daily counts -------------------------------------------------------------------

    def recompute_day(self, day: str, start: str, end: str, model_version: str) -> None:
        """Replace the daily_counts rows of one local day from posts in [start, end).

        Reposts are not counted as posts of their own (they amplify the original);
        complaints are distinct cases, so copies of one complaint count once; topic ''
        holds the all-topics total of each agency and sector.
        """
        params = {"model": model_version, "start": start, "end": end, "day": day}
        window = """p.created_at >= :start AND p.created_at < :end AND p.is_repost = 0"""
        with self.transaction():
            self.db.execute("DELETE FROM daily_counts WHERE day = :day", params)
            self.db.execute(
                f"""INSERT INTO daily_counts
                    SELECT :day, a.agency_id, a.sector, '', count(*),
                           count(DISTINCT CASE WHEN a.is_complaint = 1
                                 THEN coalesce(p.case_id, p.id) END),
                           count(DISTINCT CASE WHEN a.is_complaint = 1 THEN p.author_key END),
                           :model
                    FROM posts p
                    JOIN analysis a ON a.post_id = p.id AND a.model_version = :model
                    WHERE {window}
                    GROUP BY a.agency_id, a.sector""",
                params,
            )
            self.db.execute(
                f"""INSERT INTO daily_counts
                    SELECT :day, a.agency_id, a.sector, t.value, count(*),
                           count(DISTINCT coalesce(p.case_id, p.id)),
                           count(DISTINCT p.author_key), :model
                    FROM posts p
                    JOIN analysis a ON a.post_id = p.id AND a.model_version = :model
                    JOIN json_each(a.topics) t
                    WHERE {window} AND a.is_complaint = 1
                    GROUP BY a.agency_id, a.sector, t.value""",
                params,
            )

    def totals_by_agency(self, first_day: str, last_day: str) -> list[dict[str, Any]]:
        """Posts, complaints and authors per agency over local days [first_day, last_day]."""
        return self.db.execute_returning_dicts(
            """SELECT agency_id, sum(posts) AS posts, sum(complaints) AS complaints,
                      sum(authors) AS authors
               FROM daily_counts WHERE topic = '' AND day BETWEEN ? AND ?
               GROUP BY agency_id ORDER BY complaints DESC, posts DESC""",
            [first_day, last_day],
        )

    def topics_by_agency(self, first_day: str, last_day: str) -> list[dict[str, Any]]:
        return self.db.execute_returning_dicts(
            """SELECT agency_id, topic, sum(complaints) AS complaints
               FROM daily_counts WHERE topic != '' AND day BETWEEN ? AND ?
               GROUP BY agency_id, topic ORDER BY agency_id, complaints DESC, topic""",
            [first_day, last_day],
        )

    # --- agency trends and spikes ----------------------------------------------------

    def agency_daily(self, agency_id: str, first_day: str, last_day: str) -> list[dict[str, Any]]:
        """Per local day and topic ('' = all topics): complaints, posts, authors of one agency."""
        return self.db.execute_returning_dicts(
            """SELECT day, topic, sum(complaints) AS complaints, sum(posts) AS posts,
                      sum(authors) AS authors
               FROM daily_counts WHERE agency_id = ? AND day BETWEEN ? AND ?
               GROUP BY day, topic ORDER BY day, topic""",
            [agency_id, first_day, last_day],
        )

    def daily_totals(self, first_day: str, last_day: str) -> list[dict[str, Any]]:
        """Per local day and agency: complaints (all topics)."""
        return self.db.execute_returning_dicts(
            """SELECT day, agency_id, sum(complaints) AS complaints, sum(posts) AS posts
               FROM daily_counts WHERE topic = '' AND day BETWEEN ? AND ?
               GROUP BY day, agency_id ORDER BY day, agency_id""",
            [first_day, last_day],
        )

    def complaints_per_day(self, first_day: str, last_day: str) -> list[dict[str, Any]]:
        """Per local day with counts: complaints of all agencies and topics."""
        return self.db.execute_returning_dicts(
            """SELECT day, sum(complaints) AS complaints FROM daily_counts
               WHERE topic = '' AND day BETWEEN ? AND ? GROUP BY day""",
            [first_day, last_day],
        )

    def complaints_by_day_agency_topic(self, first_day: str, last_day: str) -> list[DayAgencyTopic]:
        """(day, agency_id, topic, complaints) over local days [first_day, last_day]."""
        rows = self.db.execute(
            """SELECT day, agency_id, topic, sum(complaints) FROM daily_counts
               WHERE day BETWEEN ? AND ? GROUP BY day, agency_id, topic""",
            [first_day, last_day],
        )
        return [DayAgencyTopic(*row) for row in rows.fetchall()]
