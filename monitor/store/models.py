"""Which model a database uses: the activations of model versions, newest last.

The latest row of ``model_activations`` is the active model; no row means the newest
shipped one (``monitor.classify.locate``). Recording an activation nests in an open
transaction, so it commits with the recount that goes with it.
"""

from __future__ import annotations

from monitor.clock import to_iso, utc_now
from monitor.store.base import StoreBase
from monitor.store.rows import ModelActivation

_COLUMNS = "id, version, folder, activated_at, activated_by, reason, previous_version"


class ModelsMixin(StoreBase):
    def record_activation(
        self, version: str, folder: str, by: str, previous_version: str, reason: str = ""
    ) -> ModelActivation:
        """Make ``version`` (in ``folder``, an absolute path) the active model."""
        with self.transaction():
            cursor = self.db.execute(
                """INSERT INTO model_activations (version, folder, activated_at,
                   activated_by, reason, previous_version) VALUES (?, ?, ?, ?, ?, ?)""",
                [version, folder, to_iso(utc_now()), by, reason, previous_version],
            )
            row_id = cursor.lastrowid
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM model_activations WHERE id = ?", [row_id]
        ).fetchone()
        return ModelActivation(*row)

    def active_model(self) -> ModelActivation | None:
        """The latest activation, or None when no model was ever activated here."""
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM model_activations ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return ModelActivation(*row) if row else None

    def model_activations(self) -> list[ModelActivation]:
        """Every activation, newest first."""
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM model_activations ORDER BY id DESC")
        return [ModelActivation(*row) for row in rows.fetchall()]
