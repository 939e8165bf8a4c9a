"""Migration v12 (in its own module: ``schema.py`` stays short): cases forwarded to
agencies and the agencies' answers."""

from __future__ import annotations

from sqlite_utils import Database


def _v12_case_forwards(db: Database) -> None:
    # A case (``posts.case_id``: the id of the post that started it) forwarded by the
    # Ombudsman office to one agency, and that agency's answer. No foreign key to posts:
    # retention may purge the post while the forward and its answer stay on record.
    for statement in (
        """CREATE TABLE case_forwards (
            id INTEGER PRIMARY KEY,
            case_id INTEGER NOT NULL,
            agency_id TEXT NOT NULL,
            forwarded_by TEXT NOT NULL,
            forwarded_at TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'diteruskan'
                CHECK (status IN ('diteruskan', 'ditanggapi', 'selesai')),
            response TEXT NOT NULL DEFAULT '',
            responded_by TEXT NOT NULL DEFAULT '',
            responded_at TEXT,
            UNIQUE (case_id, agency_id)
        )""",
        "CREATE INDEX case_forwards_agency ON case_forwards (agency_id, forwarded_at)",
    ):
        db.execute(statement)
