"""The pages: the staff overview (every agency), an agency's trend page and the digest.

Each page is the report's own rendering (``monitor.report``: the site's index, the
trend page, the digest), given the web app's links and put in its layout, so a page
here and the file ``monitor site`` writes show the same numbers.
"""

from __future__ import annotations

import base64
import re
import threading
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from markupsafe import Markup

from monitor.clock import local_date, utc_now
from monitor.formatting import format_day_id
from monitor.report.trend_records import Trend
from monitor.store import Store
from monitor.web.context import (
    DIGEST_CSP,
    agency_for,
    current_config,
    current_user,
    get_store,
    staff_only,
)

bp = Blueprint("pages", __name__)

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S)
_model_lock = threading.Lock()


def agency_trend(agency_id: str, weeks: int | None = None) -> Trend:
    """The agency's trend as ``monitor trend`` builds it (same model version, weeks)."""
    from monitor.classify import model_version
    from monitor.report.trend import DEFAULT_WEEKS, build_trend

    store = get_store()
    return build_trend(
        current_config(), store, model_version(store=store), agency_id, weeks or DEFAULT_WEEKS
    )


def cached_model(store: Store) -> Any:
    """The database's active model, loaded once per process and version."""
    from flask import current_app

    from monitor.classify import load_model, model_version

    models: dict[str, Any] = current_app.extensions["monitor"]["models"]
    version = model_version(store=store)
    with _model_lock:
        if version not in models:
            models.clear()  # keep one: a newly activated model replaces the old
            models[version] = load_model(store=store)
        return models[version]


def _page(title: str, body: str, **context: Any) -> str:
    return render_template("page.html", title=title, body=Markup(body), **context)


@bp.get("/")
def overview() -> Any:
    from monitor.classify import model_version
    from monitor.report.site import build_trends, site_index_html

    user = current_user()
    assert user is not None
    if not user.is_staff:
        if not user.agency_id:
            abort(403)
        return redirect(url_for("pages.agency", agency_id=user.agency_id))
    store = get_store()
    trends = build_trends(current_config(), store, model_version(store=store))
    body = site_index_html(
        trends, href=lambda t: url_for("pages.agency", agency_id=t.slug), body_only=True
    )
    return _page("Tren pengaduan per instansi", body, active="overview")


@bp.get("/agencies/<agency_id>")
def agency(agency_id: str) -> Any:
    from monitor.report.trend_render import trend_html

    stored = agency_for(current_user(), agency_id)
    trend = agency_trend(stored)
    user = current_user()
    assert user is not None
    downloads = {
        "CSV": url_for("api.trend", agency_id=trend.slug, format="csv"),
        "JSON": url_for("api.trend", agency_id=trend.slug),
        "Pengaduan terbaru (JSON)": url_for("api.complaints", agency_id=trend.slug),
    }
    body = trend_html(
        trend,
        index_href=url_for("pages.overview") if user.is_staff else None,
        downloads=downloads,
        body_only=True,
    )
    return _page(f"Tren pengaduan – {trend.agency_name}", body, active="agency")


@bp.get("/digest")
@bp.get("/digest/<day>")
def digest(day: str | None = None) -> Any:
    from monitor.report.digest import build_digest, render_digest

    staff_only()
    config = current_config()
    today = local_date(utc_now(), config.timezone)
    if day is None:
        chosen = today - timedelta(days=1)
    else:
        if not _DAY.fullmatch(day):
            abort(404)
        try:
            chosen = date.fromisoformat(day)
        except ValueError:
            abort(404)
    store = get_store()
    built = build_digest(config, store, cached_model(store), chosen)
    chart = "data:image/png;base64," + base64.b64encode(built.chart_png).decode("ascii")
    html, _ = render_digest(built, chart)
    match = _BODY.search(html)  # the e-mail page's content, in this app's layout
    body = match.group(1) if match else html
    response = make_response(
        _page(
            f"Ringkasan harian – {format_day_id(chosen)}",
            body,
            active="digest",
            day_nav={
                "previous": url_for("pages.digest", day=(chosen - timedelta(days=1)).isoformat()),
                "next": url_for("pages.digest", day=(chosen + timedelta(days=1)).isoformat())
                if chosen < today
                else None,
                "day": chosen.isoformat(),
            },
        )
    )
    response.headers["Content-Security-Policy"] = DIGEST_CSP
    return response


@bp.get("/digest/pilih")
def digest_pick() -> Any:
    """The day form on the digest page (GET, so no CSRF token is needed)."""
    staff_only()
    day = request.args.get("day", "")
    if not _DAY.fullmatch(day):
        return redirect(url_for("pages.digest"))
    return redirect(url_for("pages.digest", day=day))
