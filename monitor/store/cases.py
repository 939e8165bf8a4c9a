"""Cases: reposts and near-duplicate copies of one complaint collapse into one case.

A post's ``case_id`` names the post that started its case; ``post_sketch`` holds a few
minimum hashes of each post's word shingles, keyed by time, to find copies fast.
"""

from __future__ import annotations

from monitor.clock import parse_iso
from monitor.store.base import StoreBase
from monitor.store.rows import SketchMatch


class CasesMixin(StoreBase):
    # --- cases (reposts and near-duplicates collapse into one) ------------------------

    def parent_cases(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Case of each stored post named by (source, source_id)."""
        found: dict[tuple[str, str], int] = {}
        for source, source_id in keys:
            row = self.db.execute(
                "SELECT coalesce(case_id, id) FROM posts WHERE source = ? AND source_id = ?",
                [source, source_id],
            ).fetchone()
            if row:
                found[(source, source_id)] = row[0]
        return found

    def sketch_matches(
        self, hashes: list[int], since: str, until: str, per_hash: int = 50
    ) -> list[SketchMatch]:
        """(post_id, case_id, shared hashes) of the 20 posts created in [since, until]
        sharing most of ``hashes`` (at least two).

        Each hash contributes at most ``per_hash`` posts, the latest in the window: a
        phrase everyone writes is shared by thousands of posts a week and tells nothing,
        and reading all of them made processing slower the more posts a week holds.
        A true copy shares most of its hashes, so the rarer ones still find it.
        """
        if not hashes:
            return []
        window = [int(parse_iso(since).timestamp()), int(parse_iso(until).timestamp())]
        one_hash = """SELECT post_id FROM (
                        SELECT post_id FROM post_sketch WHERE hash = ? AND created BETWEEN ? AND ?
                        ORDER BY created DESC LIMIT ?)"""
        rows = self.db.execute(
            f"""SELECT g.post_id, coalesce(p.case_id, p.id), g.shared
                FROM (SELECT post_id, count(*) AS shared
                      FROM ({" UNION ALL ".join([one_hash] * len(hashes))})
                      GROUP BY post_id HAVING shared >= 2
                      ORDER BY shared DESC, post_id LIMIT 20) g
                JOIN posts p ON p.id = g.post_id
                ORDER BY g.shared DESC, g.post_id""",
            [value for h in hashes for value in (h, *window, per_hash)],
        )
        return [SketchMatch(*row) for row in rows.fetchall()]

    def post_texts(self, ids: list[int]) -> dict[int, tuple[str, str | None]]:
        """{post id: (text, normalised text from an analysis, or None if not analysed)}."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"""SELECT p.id, p.text,
                       (SELECT a.text_normalized FROM analysis a WHERE a.post_id = p.id LIMIT 1)
                FROM posts p WHERE p.id IN ({marks})""",
            ids,
        )
        return {post_id: (text, normalized) for post_id, text, normalized in rows.fetchall()}

    def save_cases(self, cases: dict[int, int], sketches: dict[int, list[int]]) -> None:
        with self.transaction():
            self.db.conn.executemany(
                "UPDATE posts SET case_id = ? WHERE id = ?",
                [(case, post) for post, case in cases.items()],
            )
            self.db.conn.executemany(
                """INSERT OR IGNORE INTO post_sketch (hash, created, post_id)
                   SELECT ?, CAST(strftime('%s', created_at) AS INTEGER), id
                   FROM posts WHERE id = ?""",
                [(h, post) for post, hashes in sketches.items() for h in hashes],
            )

    def case_sizes(self, case_ids: list[int]) -> dict[int, int]:
        """How many posts (copies and reposts included) each case has."""
        if not case_ids:
            return {}
        marks = ",".join("?" * len(case_ids))
        rows = self.db.execute(
            f"""SELECT coalesce(case_id, id), count(*) FROM posts
                WHERE coalesce(case_id, id) IN ({marks}) GROUP BY 1""",
            case_ids,
        )
        return dict(rows.fetchall())
