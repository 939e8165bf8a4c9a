"""The JSON API: ``Authorization: Bearer <token>`` (``monitor users token``), or the
session of a signed-in browser (the pages' download links), with the pages' rules:
staff any agency, an agency user only its own.

  GET /api/agencies/<id>/trend               the trend as JSON (``monitor trend --format json``)
  GET /api/agencies/<id>/trend?format=csv    the CSV of ``monitor trend --format csv``
  GET /api/agencies/<id>/complaints?limit=N  the newest complaints, one per case
"""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, g, jsonify, make_response, request

from monitor.accounts import user_for_token
from monitor.clock import parse_iso
from monitor.labels import sector_name, topic_name
from monitor.report import web_link
from monitor.web.context import agency_for, current_config, current_user, get_store

bp = Blueprint("api", __name__, url_prefix="/api")

UNAUTHORIZED_TEXT = (
    "Perlu token API yang berlaku: kirim header 'Authorization: Bearer <token>'. / "
    "A valid API token is needed: send the header 'Authorization: Bearer <token>'."
)
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_WEEKS = 104


def _unauthorized(error: str = "") -> Response:
    response = jsonify(error=401, message=UNAUTHORIZED_TEXT)
    response.status_code = 401
    challenge = 'Bearer realm="monitor"'
    if error:
        challenge += f', error="{error}"'
    response.headers["WWW-Authenticate"] = challenge
    return response


@bp.before_request
def authenticate_request() -> Response | None:
    """The API user: the bearer token's if a header is sent (a bad one is refused even
    with a session), else the browser session's."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return _unauthorized("invalid_request")
        user = user_for_token(get_store(), token)
        if user is None:
            return _unauthorized("invalid_token")
        g.api_user = user
        return None
    if current_user() is None:
        return _unauthorized()
    g.api_user = current_user()
    return None


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        abort(400)
    if not low <= value <= high:
        abort(400)
    return value


@bp.get("/agencies/<agency_id>/trend")
def trend(agency_id: str) -> Any:
    from monitor.report.trend_render import trend_csv, trend_json
    from monitor.web.pages import agency_trend

    stored = agency_for(g.api_user, agency_id)
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        abort(400)
    built = agency_trend(stored, _int_arg("weeks", 12, 1, MAX_WEEKS))
    if fmt == "csv":
        response = make_response(trend_csv(built))
        response.mimetype = "text/csv"
        response.headers["Content-Disposition"] = f'attachment; filename="{built.slug}.csv"'
        return response
    response = make_response(trend_json(built))
    response.mimetype = "application/json"
    return response


@bp.get("/agencies/<agency_id>/complaints")
def complaints(agency_id: str) -> Any:
    """The newest complaints about the agency, one per case (the case's first post):
    redacted text, link, local time, how many posts the case has."""
    from monitor.classify import model_version

    stored = agency_for(g.api_user, agency_id)
    limit = _int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    store = get_store()
    zone = ZoneInfo(current_config().timezone)
    rows = store.latest_complaints(stored, model_version(store=store), limit)
    sizes = store.case_sizes([row["id"] for row in rows])
    items = []
    for row in rows:
        topics = row["topics"]
        if isinstance(topics, str):
            topics = json.loads(topics)
        items.append(
            {
                "created_at": parse_iso(row["created_at"]).astimezone(zone).isoformat(),
                "created_at_utc": row["created_at"],
                "platform": row["platform"] or "",
                "url": web_link(row["url"]),
                "text": row["text_display"],
                "sector": row["sector"],
                "sector_name": sector_name(row["sector"]),
                "topics": list(topics),
                "topic_names": [topic_name(t) for t in topics],
                "case_size": sizes.get(row["id"], 1),
            }
        )
    return jsonify(
        agency_id=stored,
        timezone=current_config().timezone,
        model_version=model_version(store=store),
        complaints=items,
    )
