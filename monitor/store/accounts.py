"""Accounts of the web app: users, their API tokens, login attempts and the audit log.

The rules (who may be added, hashing, the login's rate limit) are ``monitor.accounts``';
here is only their SQL. A token is looked up by its SHA-256; the plain token is never
given to the store. ``audit_log`` is append-only: there is no method that changes or
deletes a row, and the schema's triggers refuse it.
"""

from __future__ import annotations

from monitor.store.base import StoreBase
from monitor.store.rows import AuditEntry, UserRow

_USER = (
    "u.id, u.name, u.role, u.agency_id, u.password_hash, u.disabled, u.created_at, "
    "(SELECT count(*) FROM api_tokens t WHERE t.user_id = u.id AND t.revoked_at IS NULL)"
)


def _user(row: tuple) -> UserRow:
    return UserRow(row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6], row[7])


class AccountsMixin(StoreBase):
    # --- users ------------------------------------------------------------------------

    def insert_user(
        self, name: str, role: str, agency_id: str | None, password_hash: str, created_at: str
    ) -> UserRow | None:
        """The new user; None when the name is taken already."""
        with self.transaction():
            cursor = self.db.execute(
                """INSERT OR IGNORE INTO users (name, role, agency_id, password_hash,
                   created_at) VALUES (?, ?, ?, ?, ?)""",
                [name, role, agency_id, password_hash, created_at],
            )
            if not cursor.rowcount:
                return None
        return self.user_row(name)

    def user_row(self, name: str) -> UserRow | None:
        row = self.db.execute(f"SELECT {_USER} FROM users u WHERE u.name = ?", [name]).fetchone()
        return _user(row) if row else None

    def user_rows(self) -> list[UserRow]:
        """Every user, by name."""
        return [_user(row) for row in self.db.execute(f"SELECT {_USER} FROM users u ORDER BY name")]

    def disable_user_row(self, user_id: int, at: str) -> int:
        """Disable the user and revoke its tokens in one transaction; returns how many
        tokens were revoked."""
        with self.transaction():
            self.db.execute("UPDATE users SET disabled = 1 WHERE id = ?", [user_id])
            return self.revoke_user_tokens(user_id, at)

    # --- API tokens -------------------------------------------------------------------

    def insert_token(self, user_id: int, token_sha256: str, created_at: str) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO api_tokens (user_id, token_sha256, created_at) VALUES (?, ?, ?)",
                [user_id, token_sha256, created_at],
            )

    def revoke_user_tokens(self, user_id: int, at: str) -> int:
        """Revoke the user's tokens not revoked yet; returns how many."""
        with self.transaction():
            cursor = self.db.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                [at, user_id],
            )
            return cursor.rowcount

    def user_for_token_sha256(self, token_sha256: str, at: str) -> UserRow | None:
        """The enabled user a token not revoked belongs to, its last use set to ``at``;
        None otherwise."""
        with self.transaction():
            row = self.db.execute(
                f"""SELECT t.id, {_USER} FROM api_tokens t JOIN users u ON u.id = t.user_id
                    WHERE t.token_sha256 = ? AND t.revoked_at IS NULL AND u.disabled = 0""",
                [token_sha256],
            ).fetchone()
            if row is None:
                return None
            self.db.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", [at, row[0]])
        return _user(row[1:])

    # --- login attempts ---------------------------------------------------------------

    def insert_login_attempt(
        self, at: str, name: str, ip: str, ok: bool, forget_before: str
    ) -> None:
        """Keep one attempt; attempts before ``forget_before`` are deleted."""
        with self.transaction():
            self.db.execute("DELETE FROM login_attempts WHERE at < ?", [forget_before])
            self.db.execute(
                "INSERT INTO login_attempts (at, name, ip, ok) VALUES (?, ?, ?, ?)",
                [at, name, ip, int(ok)],
            )

    def failed_logins_since(self, since: str, name: str, ip: str) -> tuple[int, int]:
        """(failures for ``name``, failures from ``ip``) at or after ``since``; an empty
        name or ip counts 0."""
        row = self.db.execute(
            """SELECT coalesce(sum(name = ? AND ? != ''), 0), coalesce(sum(ip = ? AND ? != ''), 0)
               FROM login_attempts WHERE at >= ? AND ok = 0""",
            [name, name, ip, ip, since],
        ).fetchone()
        return int(row[0]), int(row[1])

    # --- audit log --------------------------------------------------------------------

    def append_audit(self, at: str, actor: str, action: str, detail: str, ip: str) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO audit_log (at, actor, action, detail, ip) VALUES (?, ?, ?, ?, ?)",
                [at, actor, action, self._error_text(detail), ip],
            )

    def audit_entries(self, limit: int = 200) -> list[AuditEntry]:
        """The latest ``limit`` entries, newest first."""
        rows = self.db.execute(
            "SELECT at, actor, action, detail, ip FROM audit_log ORDER BY id DESC LIMIT ?",
            [max(0, int(limit))],
        )
        return [AuditEntry(*row) for row in rows.fetchall()]
