"""The mail outbox: digests kept until the mail server took them, each sent at most once."""

from __future__ import annotations

import json
from typing import Any

from monitor.clock import to_iso, utc_now
from monitor.store.base import StoreBase
from monitor.store.rows import MailBacklog


class OutboxMixin(StoreBase):
    # --- outbox -----------------------------------------------------------------------

    def enqueue_mail(
        self, day: str, scope: str, recipients: list[str], subject: str, message: bytes
    ) -> bool:
        """Queue one digest e-mail; False when that day's digest for that scope is queued."""
        with self.transaction():
            cursor = self.db.execute(
                """INSERT OR IGNORE INTO outbox (day, scope, recipients, subject, message,
                   created_at) VALUES (?, ?, ?, ?, ?, ?)""",
                [day, scope, json.dumps(recipients), subject, message, to_iso(utc_now())],
            )
        return cursor.rowcount == 1

    def outbox(self, statuses: tuple[str, ...] = ("pending",)) -> list[dict[str, Any]]:
        marks = ",".join("?" * len(statuses))
        return self.db.execute_returning_dicts(
            f"""SELECT id, day, scope, recipients, subject, message, status, attempts,
                       last_error, created_at, sent_at
                FROM outbox WHERE status IN ({marks}) ORDER BY id""",
            list(statuses),
        )

    def outbox_backlog(self) -> list[MailBacklog]:
        """(status, count, greatest last_error) of the mail not sent, per status."""
        rows = self.db.execute(
            "SELECT status, count(*), max(last_error) FROM outbox "
            "WHERE status != 'sent' GROUP BY status"
        ).fetchall()
        return [MailBacklog(status, count, self.mask(error or "")) for status, count, error in rows]

    def outbox_messages(self) -> list[dict[str, Any]]:
        """Every outbox row without its message bytes, newest day first (for listing)."""
        rows = self.db.execute_returning_dicts(
            """SELECT id, day, scope, recipients, subject, status, attempts, last_error,
                      created_at, sent_at
               FROM outbox ORDER BY day DESC, scope"""
        )
        return [{**row, "last_error": self.mask(row["last_error"] or "")} for row in rows]

    def outbox_message(self, day: str, scope: str) -> dict[str, Any] | None:
        """One day's outbox row for ``scope`` (without the message bytes), or None."""
        rows = self.db.execute_returning_dicts(
            """SELECT id, day, scope, recipients, subject, status, attempts, last_error,
                      created_at, sent_at
               FROM outbox WHERE day = ? AND scope = ?""",
            [day, scope],
        )
        return rows[0] if rows else None

    def set_mail_status(self, mail_id: int, status: str, error: str = "") -> None:
        """pending -> sending -> sent | pending (failed, retried next run) | unconfirmed."""
        with self.transaction():
            self.db.execute(
                """UPDATE outbox SET status = ?, last_error = ?,
                       attempts = attempts + (CASE WHEN ? = 'sending' THEN 1 ELSE 0 END),
                       sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END
                   WHERE id = ?""",
                [status, self._error_text(error), status, status, to_iso(utc_now()), mail_id],
            )
