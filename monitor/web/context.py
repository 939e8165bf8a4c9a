"""What the app's parts share: the request's store, config and user, the CSRF token,
the session's contents and the security policy. Imports none of the app's parts."""

from __future__ import annotations

import re
import secrets
import time

from flask import abort, current_app, g, request, session

from monitor.accounts import User
from monitor.config import Config
from monitor.store import Store

SESSION_VERSION = 1

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# The digest is the e-mail's layout, styled inline throughout: that page alone allows
# inline styles (never inline scripts).
DIGEST_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


def get_store() -> Store:
    """The store of this request, opened on first use and closed at teardown."""
    if "store" not in g:
        settings = current_app.extensions["monitor"]
        g.store = Store.open(settings["database"], settings["secrets"])
    store: Store = g.store
    return store


def current_config() -> Config:
    config: Config = current_app.extensions["monitor"]["config"]
    return config


def current_user() -> User | None:
    return g.get("user")


def client_ip() -> str:
    return request.remote_addr or ""


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
        session.permanent = True
    return str(token)


def start_session(user: User) -> None:
    """A fresh session for ``user`` (a new CSRF token: nothing carries over from before)."""
    session.clear()
    session.permanent = True
    session.update({"v": SESSION_VERSION, "u": user.name, "uid": user.id, "t": int(time.time())})
    csrf_token()


def safe_next(target: str | None) -> str:
    """A path on this site to go to after login; anything else is '/'."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or re.search(r"[\x00-\x1f\x7f]", target):
        return "/"
    return target


def staff_only() -> None:
    """403 unless the signed-in user is Ombudsman staff."""
    user = current_user()
    if user is None or not user.is_staff:
        abort(403)


def agency_for(user: User | None, agency_id: str) -> str:
    """The stored agency id for ``agency_id`` (a config id, or the unresolved slug), if
    ``user`` may see it: 403 otherwise (before telling whether it exists), 404 if
    there is no such agency. One rule for the pages and the API."""
    from monitor.report.trend import resolve_agency_id

    if user is None or not user.can_see(agency_id):
        abort(403)
    try:
        return resolve_agency_id(current_config(), get_store(), agency_id)
    except ValueError:
        abort(404)
