"""Signing in and out, and the rule that every page needs a signed-in user.

A login is refused (429) while ``login_blocked`` says so, before the password is
even checked; every attempt is recorded (``record_login``) and written to the audit
log with the client's address.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from monitor.accounts import audit, authenticate, login_blocked, record_login
from monitor.web.context import (
    client_ip,
    csrf_token,
    current_user,
    get_store,
    safe_next,
    start_session,
)

bp = Blueprint("auth", __name__)

OPEN_ENDPOINTS = frozenset({"auth.login", "static", "page_css"})
BLOCKED_TEXT = (
    "Terlalu banyak percobaan masuk yang gagal untuk nama pengguna ini atau dari alamat "
    "ini. Tunggu 15 menit lalu coba lagi."
)
FAILED_TEXT = "Nama pengguna atau kata sandi salah."


def require_login() -> Response | None:
    """Before every request: every page needs a user (else to /login?next=...), an
    unknown address too (so nothing tells what exists); the API answers for itself
    (401), and the login page and styles are open."""
    if request.endpoint in OPEN_ENDPOINTS or request.path.startswith("/api/"):
        return None
    if current_user() is None:
        target = request.full_path if request.query_string else request.path
        return redirect(f"{url_for('auth.login')}?next={quote(target, safe='/')}")
    return None


def _form(error: str = "", name: str = "", status: int = 200) -> tuple[str, int]:
    csrf_token()  # the form's token, kept in the (signed) session cookie
    return (
        render_template(
            "login.html",
            title="Masuk",
            error=error,
            name=name,
            next=safe_next(request.values.get("next")),
        ),
        status,
    )


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        if current_user() is not None:
            return redirect(safe_next(request.args.get("next")))
        return _form()
    name = request.form.get("name", "").strip()[:100]
    password = request.form.get("password", "")
    if not name or not password:
        return _form("Isi nama pengguna dan kata sandi.", name)
    store = get_store()
    ip = client_ip()
    if login_blocked(store, name, ip):
        audit(store, name, "login.blocked", ip=ip)
        return _form(BLOCKED_TEXT, name, 429)
    user = authenticate(store, name, password)
    record_login(store, name, ip, user is not None)
    if user is None:
        audit(store, name, "login.failed", ip=ip)
        return _form(FAILED_TEXT, name)
    audit(store, user.name, "login.ok", ip=ip)
    start_session(user)
    return redirect(safe_next(request.form.get("next")))


@bp.post("/logout")
def logout() -> Any:
    user = current_user()
    if user is not None:
        audit(get_store(), user.name, "logout", ip=client_ip())
    session.clear()
    return redirect(url_for("auth.login"))
