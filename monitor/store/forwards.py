"""Cases forwarded by the Ombudsman office to an agency, and the agency's answers.

A forward names a case by the id of the post that started it (``posts.case_id``); the
rules (who may forward or answer, the length of a response) are ``monitor.web.cases``'.
"""

from __future__ import annotations

from typing import NamedTuple

from monitor.store.base import StoreBase

STATUSES = ("diteruskan", "ditanggapi", "selesai")


class CaseForward(NamedTuple):
    id: int
    case_id: int  # the id of the post that started the case
    agency_id: str
    forwarded_by: str
    forwarded_at: str  # UTC ISO
    note: str
    status: str  # 'diteruskan', 'ditanggapi' or 'selesai'
    response: str
    responded_by: str
    responded_at: str | None  # UTC ISO
    text: str  # the case's redacted text ('' when retention purged the post)
    url: str
    created_at: str  # UTC ISO of the case's post ('' when purged)
    case_size: int  # posts in the case, copies and reposts included


class CasePost(NamedTuple):
    id: int
    text: str  # redacted
    url: str
    platform: str
    created_at: str  # UTC ISO
    agency_id: str  # of its newest analysis ('' when not analysed)
    case_size: int


_FORWARD = """SELECT f.id, f.case_id, f.agency_id, f.forwarded_by, f.forwarded_at, f.note,
       f.status, f.response, f.responded_by, f.responded_at,
       coalesce(p.text_display, ''), coalesce(p.url, ''), coalesce(p.created_at, ''),
       (SELECT count(*) FROM posts c WHERE coalesce(c.case_id, c.id) = f.case_id)
FROM case_forwards f LEFT JOIN posts p ON p.id = f.case_id"""


class ForwardsMixin(StoreBase):
    # --- cases forwarded to agencies --------------------------------------------------

    def case_post(self, case_id: int) -> CasePost | None:
        """The post that started case ``case_id``; None unless it exists and heads a case."""
        row = self.db.execute(
            """SELECT p.id, p.text_display, p.url, p.platform, p.created_at,
                      coalesce((SELECT a.agency_id FROM analysis a WHERE a.post_id = p.id
                                ORDER BY a.processed_at DESC LIMIT 1), ''),
                      (SELECT count(*) FROM posts c WHERE coalesce(c.case_id, c.id) = p.id)
               FROM posts p WHERE p.id = ? AND coalesce(p.case_id, p.id) = p.id""",
            [case_id],
        ).fetchone()
        return CasePost(*row) if row else None

    def forward_case(
        self, case_id: int, agency_id: str, forwarded_by: str, at: str, note: str = ""
    ) -> bool:
        """Forward the case to the agency; False (nothing changed) if it was already."""
        with self.transaction():
            cursor = self.db.execute(
                """INSERT OR IGNORE INTO case_forwards
                   (case_id, agency_id, forwarded_by, forwarded_at, note)
                   VALUES (?, ?, ?, ?, ?)""",
                [case_id, agency_id, forwarded_by, at, note],
            )
            return bool(cursor.rowcount)

    def case_forwards(
        self,
        agency_id: str | None = None,
        status: str | None = None,
        case_id: int | None = None,
        limit: int = 500,
    ) -> list[CaseForward]:
        """Forwards, newest first: all, or one agency's, one status's, one case's."""
        where, params = [], []
        for column, value in (("agency_id", agency_id), ("status", status), ("case_id", case_id)):
            if value is not None:
                where.append(f"f.{column} = ?")
                params.append(value)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self.db.execute(
            f"{_FORWARD}{clause} ORDER BY f.forwarded_at DESC, f.id DESC LIMIT ?",
            [*params, limit],
        )
        return [CaseForward(*row) for row in rows.fetchall()]

    def case_forward(self, case_id: int, agency_id: str) -> CaseForward | None:
        """The case's forward to the agency, if there is one."""
        found = self.case_forwards(agency_id=agency_id, case_id=case_id, limit=1)
        return found[0] if found else None

    def answer_forward(
        self, forward_id: int, status: str, response: str, responded_by: str, at: str
    ) -> bool:
        """Record the agency's answer (replacing an earlier one); False if no such forward."""
        if status not in STATUSES[1:]:
            raise ValueError(f"status must be one of {STATUSES[1:]}, not {status!r}")
        with self.transaction():
            cursor = self.db.execute(
                """UPDATE case_forwards SET status = ?, response = ?, responded_by = ?,
                   responded_at = ? WHERE id = ?""",
                [status, response, responded_by, at, forward_id],
            )
            return bool(cursor.rowcount)
