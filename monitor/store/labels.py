"""Office labels: texts an office labelled in its own records, imported from a file."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from monitor.store.base import StoreBase


@dataclass(frozen=True)
class OfficeLabel:
    """One labelled text. None is "not said": a row may give only a sector."""

    text: str
    is_complaint: bool | None = None
    sector: str | None = None
    topics: tuple[str, ...] | None = None
    agency: str | None = None
    source_file: str = ""
    source_row: int = 0
    source_sha256: str = ""
    imported_at: str = ""
    imported_by: str = ""
    label_key: str = ""


@dataclass(frozen=True)
class LabelCount:
    """How many office labels one source file (or one sector) holds."""

    name: str
    labels: int


_COLUMNS = (
    "text, is_complaint, sector, topics, agency, source_file, source_row, source_sha256, "
    "imported_at, imported_by, label_key"
)


# The source_file of labels given in the web app's review queue (source_row: the post id).
WEB_REVIEW_SOURCE = "web-review"


def _label(row: tuple[Any, ...]) -> OfficeLabel:
    return OfficeLabel(
        text=row[0],
        is_complaint=None if row[1] is None else bool(row[1]),
        sector=row[2],
        topics=None if row[3] is None else tuple(json.loads(row[3])),
        agency=row[4],
        source_file=row[5],
        source_row=row[6],
        source_sha256=row[7],
        imported_at=row[8],
        imported_by=row[9],
        label_key=row[10],
    )


class LabelsMixin(StoreBase):
    # --- office labels ----------------------------------------------------------------

    def add_office_labels(self, labels: Iterable[OfficeLabel]) -> int:
        """Store the labels in one transaction; those whose ``label_key`` is stored
        already are skipped. Returns how many were new."""
        added = 0
        with self.transaction():
            for label in labels:
                cursor = self.db.execute(
                    f"INSERT OR IGNORE INTO office_labels ({_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        label.text,
                        None if label.is_complaint is None else int(label.is_complaint),
                        label.sector,
                        None if label.topics is None else json.dumps(list(label.topics)),
                        label.agency,
                        label.source_file,
                        label.source_row,
                        label.source_sha256,
                        label.imported_at,
                        label.imported_by,
                        label.label_key,
                    ],
                )
                added += cursor.rowcount
        return added

    def office_label_keys(self, keys: Iterable[str]) -> set[str]:
        """Those of ``keys`` that are stored already."""
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            marks = ",".join("?" * len(part))
            found.update(
                row[0]
                for row in self.db.execute(
                    f"SELECT label_key FROM office_labels WHERE label_key IN ({marks})", part
                )
            )
        return found

    def office_labels(self) -> Iterator[OfficeLabel]:
        """Every office label, in the order imported."""
        cursor = self.db.execute(f"SELECT {_COLUMNS} FROM office_labels ORDER BY id")
        for row in cursor:
            yield _label(row)

    def recent_office_labels(
        self, source_file: str, imported_by: str, limit: int = 10
    ) -> list[OfficeLabel]:
        """The last ``limit`` labels ``imported_by`` stored from ``source_file``, newest
        first."""
        cursor = self.db.execute(
            f"SELECT {_COLUMNS} FROM office_labels WHERE source_file = ? AND imported_by = ? "
            "ORDER BY id DESC LIMIT ?",
            [source_file, imported_by, limit],
        )
        return [_label(row) for row in cursor]

    def delete_office_label(self, label_key: str, imported_by: str) -> OfficeLabel | None:
        """Delete the label ``label_key`` if the web review (source_file 'web-review')
        stored it for ``imported_by``; the deleted label, or None when there is none
        such (another user's, or one imported from a file, is never deleted)."""
        with self.transaction():
            row = self.db.execute(
                f"SELECT {_COLUMNS} FROM office_labels WHERE label_key = ? AND "
                "source_file = ? AND imported_by = ?",
                [label_key, WEB_REVIEW_SOURCE, imported_by],
            ).fetchone()
            if row is None:
                return None
            self.db.execute(
                "DELETE FROM office_labels WHERE label_key = ? AND source_file = ? "
                "AND imported_by = ?",
                [label_key, WEB_REVIEW_SOURCE, imported_by],
            )
        return _label(row)

    def office_label_counts(self) -> tuple[list[LabelCount], list[LabelCount]]:
        """(per source file, per sector) counts; a label with no sector counts under ''."""
        by_file = [
            LabelCount(name, count)
            for name, count in self.db.execute(
                "SELECT source_file, count(*) FROM office_labels GROUP BY source_file "
                "ORDER BY count(*) DESC, source_file"
            )
        ]
        by_sector = [
            LabelCount(name or "", count)
            for name, count in self.db.execute(
                "SELECT coalesce(sector, ''), count(*) FROM office_labels "
                "GROUP BY coalesce(sector, '') ORDER BY count(*) DESC, 1"
            )
        ]
        return by_file, by_sector
