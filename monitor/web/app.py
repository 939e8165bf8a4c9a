"""The Flask app: its settings, the store of each request, who is signed in, CSRF, the
security headers every response carries and the error pages.

A session cookie holds only the user's name and id, the session format's version and
the CSRF token; the user is read again on every request, so a disabled user is out at
once. Pages are server-rendered, autoescaped (``.html`` templates), with no inline
script (the review page alone loads ``/static/review.js``, keyboard shortcuts only) and
styles only from ``/static`` (the digest page alone, an e-mail layout, also allows
inline styles).
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, jsonify, render_template, request, session
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from monitor.accounts import get_user
from monitor.config import Config
from monitor.secrets import secret_values
from monitor.web.context import (
    CSP,
    SESSION_VERSION,
    csrf_token,
    current_config,
    current_user,
    get_store,
)

SECRET_FILE = "web_secret.key"
MIN_SECRET_BYTES = 16

ERROR_TEXT = {
    400: (
        "Permintaan tidak valid",
        "Formulir kedaluwarsa atau tidak lengkap. Muat ulang halaman lalu coba lagi.",
    ),
    403: (
        "Akses ditolak",
        "Akun Anda tidak berhak membuka halaman ini. Akun instansi hanya "
        "dapat melihat data instansinya sendiri.",
    ),
    404: ("Tidak ditemukan", "Halaman atau instansi ini tidak ada. Periksa alamatnya."),
    405: ("Metode tidak diizinkan", "Halaman ini tidak menerima permintaan seperti itu."),
    429: (
        "Terlalu banyak percobaan",
        "Terlalu banyak percobaan masuk yang gagal. Tunggu 15 menit lalu coba lagi.",
    ),
    500: (
        "Terjadi kesalahan",
        "Terjadi kesalahan di server. Coba lagi nanti atau hubungi operator.",
    ),
}
API_ERROR_TEXT = {
    400: "Permintaan tidak valid. / Bad request.",
    403: "Akun ini tidak berhak melihat data instansi ini. / This account may not see "
    "this agency's data.",
    404: "Tidak ditemukan. / Not found.",
    405: "Metode tidak diizinkan. / Method not allowed.",
    500: "Kesalahan server. / Server error.",
}


def load_secret_key(
    config: Config, database: Path, environ: Mapping[str, str] = os.environ
) -> bytes:
    """The env var named by ``[web] secret_key_env`` if set, else the key kept in
    ``web_secret.key`` beside the database, made (random, mode 0600) the first time."""
    name = config.web.secret_key_env
    value = environ.get(name, "") if name else ""
    if value:
        if len(value.encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"${name} is shorter than {MIN_SECRET_BYTES} bytes; set a long random value, "
                "e.g. from: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return value.encode()
    path = Path(database).parent / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{SECRET_FILE}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(secrets.token_bytes(32))
            try:
                os.link(tmp, path)  # never replaces a key another process made first
            except FileExistsError:
                pass
        finally:
            tmp.unlink(missing_ok=True)
    key = path.read_bytes()
    if len(key) < MIN_SECRET_BYTES:
        raise ValueError(f"{path} holds fewer than {MIN_SECRET_BYTES} bytes; delete it")
    return key


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int) -> tuple[Any, int]:
    if wants_json():
        return jsonify(error=status, message=API_ERROR_TEXT.get(status, "")), status
    title, text = ERROR_TEXT.get(status, ERROR_TEXT[500])
    return render_template("error.html", title=title, text=text, status=status), status


def _load_user() -> None:
    g.user = None
    if request.endpoint in ("static", "page_css"):
        return
    name, uid = session.get("u"), session.get("uid")
    if not name:
        return
    hours = current_config().web.session_hours
    fresh = time.time() - float(session.get("t") or 0) < hours * 3600  # from login, not use
    user = get_user(get_store(), name) if session.get("v") == SESSION_VERSION and fresh else None
    if user is None or user.disabled or user.id != uid:
        session.clear()  # disabled, deleted or remade: signed out at once
        return
    g.user = user


def _check_csrf() -> Response | tuple[Any, int] | None:
    if request.method != "POST":
        return None
    sent = request.form.get("csrf_token", "")
    expected = session.get("csrf", "")
    if not sent or not expected or not hmac.compare_digest(str(sent), str(expected)):
        return error_response(400)
    return None


def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    if request.endpoint not in ("static", "page_css"):
        response.headers["Cache-Control"] = "no-store"
    return response


def create_app(
    config: Config, secret_key: bytes | None = None, store_path: Path | str | None = None
) -> Flask:
    """The web app over ``store_path`` (default ``config.database``). ``secret_key``
    signs the session cookie; without it, see ``load_secret_key``."""
    from monitor.report import templates as report_templates
    from monitor.web.api import bp as api_bp
    from monitor.web.auth import bp as auth_bp
    from monitor.web.auth import require_login
    from monitor.web.cases import bp as cases_bp
    from monitor.web.pages import bp as pages_bp
    from monitor.web.review import bp as review_bp

    database = Path(store_path) if store_path else Path(config.database)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key or load_secret_key(config, database),
        SESSION_COOKIE_NAME="monitor_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.web.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=config.web.session_hours),
        MAX_CONTENT_LENGTH=64 * 1024,
        JSON_SORT_KEYS=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["monitor"] = {
        "config": config,
        "database": database,
        "secrets": secret_values(config),
        "models": {},
    }
    # Behind the TLS reverse proxy: the client's address and scheme from its headers.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["current_user"] = current_user

    @app.get("/static/page.css", endpoint="page_css")
    def page_css() -> Response:
        loader = report_templates().loader
        assert loader is not None
        css, _, _ = loader.get_source(report_templates(), "page.css")
        response = Response(css, mimetype="text/css")
        response.headers["Cache-Control"] = "max-age=3600"
        return response

    app.before_request(_load_user)
    app.before_request(_check_csrf)
    app.before_request(require_login)
    app.after_request(_headers)

    @app.teardown_appcontext
    def close_store(exc: BaseException | None) -> None:
        store = g.pop("store", None)
        if store is not None:
            store.close()

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Any, int]:
        return error_response(exc.code or 500)

    app.register_blueprint(auth_bp)
    app.register_blueprint(pages_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(review_bp)
    app.register_blueprint(cases_bp)
    return app
