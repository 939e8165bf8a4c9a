"""Cases forwarded to agencies, and the agencies' answers.

Staff forward a case (``posts.case_id``: the post that started it) to an agency, with
an optional note, and see every forward with its status; an agency's users see only
the cases forwarded to their agency and answer them (a short response, status
``ditanggapi`` or ``selesai``). An agency user gets 403 on any other case, GET or
POST, before anything tells whether it exists. Every forward and answer is audited.

  GET  /cases                       staff: all forwards (?agency=, ?status=); agency: its own
  GET  /cases/<case_id>             the case, its forwards and answers, the forms
  POST /cases/<case_id>/forward     staff: forward to an agency (agency_id, note)
  POST /cases/<case_id>/answer      agency: answer (status, response)
  GET  /api/agencies/<id>/cases     JSON, with the API's bearer-token rules
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from monitor.accounts import User, audit
from monitor.clock import parse_iso, to_iso, utc_now
from monitor.formatting import format_local
from monitor.report import web_link
from monitor.store import CaseForward
from monitor.web.api import authenticate_request
from monitor.web.context import client_ip, current_config, current_user, get_store, staff_only

bp = Blueprint("cases", __name__)
api_bp = Blueprint("cases_api", __name__, url_prefix="/api")
api_bp.before_request(authenticate_request)

MAX_TEXT = 2000
STATUS_NAMES = {
    "diteruskan": "Diteruskan",
    "ditanggapi": "Ditanggapi",
    "selesai": "Selesai",
}
ANSWER_STATUSES = ("ditanggapi", "selesai")
RECENT_LIMIT = 10


def _user() -> User:
    user = current_user()
    if user is None:
        abort(403)
    return user


def _agency_names() -> dict[str, str]:
    return {a.id: a.short_name or a.name for a in current_config().agencies}


def _when(iso: str | None) -> str:
    return format_local(parse_iso(iso), current_config().timezone) if iso else ""


def _view(forward: CaseForward) -> dict[str, Any]:
    """A forward as the templates and the API show it."""
    return {
        "id": forward.id,
        "case_id": forward.case_id,
        "agency_id": forward.agency_id,
        "agency_name": _agency_names().get(forward.agency_id, forward.agency_id),
        "forwarded_by": forward.forwarded_by,
        "forwarded_at": _when(forward.forwarded_at),
        "note": forward.note,
        "status": forward.status,
        "status_name": STATUS_NAMES.get(forward.status, forward.status),
        "response": forward.response,
        "responded_by": forward.responded_by,
        "responded_at": _when(forward.responded_at),
        "text": forward.text,
        "url": web_link(forward.url),
        "created_at": _when(forward.created_at),
        "case_size": forward.case_size,
    }


def _limited(field: str) -> str:
    return request.form.get(field, "").strip().replace("\r\n", "\n")


@bp.get("/cases")
def case_list() -> Any:
    user = _user()
    store = get_store()
    names = _agency_names()
    status = request.args.get("status") or None
    if status is not None and status not in STATUS_NAMES:
        status = None
    if user.is_staff:
        agency = request.args.get("agency") or None
        if agency is not None and agency not in names:
            agency = None
    else:
        if not user.agency_id:
            abort(403)
        agency = user.agency_id
    forwards = [_view(f) for f in store.case_forwards(agency_id=agency, status=status)]
    recent: list[dict[str, Any]] = []
    if user.is_staff and agency is not None:
        recent = _recent_cases(agency)
    return render_template(
        "cases.html",
        title="Kasus yang diteruskan",
        active="cases",
        forwards=forwards,
        recent=recent,
        agencies=names,
        chosen_agency=agency or "",
        chosen_status=status or "",
        statuses=STATUS_NAMES,
    )


def _recent_cases(agency_id: str) -> list[dict[str, Any]]:
    """The agency's newest complaints (one per case), each with whether it was forwarded
    to the agency already: what staff choose from to forward."""
    from monitor.classify import model_version

    store = get_store()
    rows = store.latest_complaints(agency_id, model_version(store=store), RECENT_LIMIT)
    sizes = store.case_sizes([row["id"] for row in rows])
    done = {f.case_id for f in store.case_forwards(agency_id=agency_id)}
    return [
        {
            "case_id": row["id"],
            "text": row["text_display"],
            "url": web_link(row["url"]),
            "created_at": _when(row["created_at"]),
            "case_size": sizes.get(row["id"], 1),
            "forwarded": row["id"] in done,
        }
        for row in rows
    ]


def _case_page(case_id: int, error: str = "", status: int = 200) -> Any:
    """The case as the user may see it: staff all its forwards and the forward form;
    an agency user only its agency's forward and the answer form (403 without one)."""
    user = _user()
    store = get_store()
    names = _agency_names()
    if user.is_staff:
        post = store.case_post(case_id)
        forwards = [_view(f) for f in store.case_forwards(case_id=case_id)]
        if post is None and not forwards:
            abort(404)
    else:
        own = store.case_forward(case_id, user.agency_id) if user.agency_id else None
        if own is None:
            abort(403)
        post = store.case_post(case_id)
        forwards = [_view(own)]
    case = {
        "id": case_id,
        "text": post.text if post else (forwards[0]["text"] if forwards else ""),
        "url": web_link(post.url) if post else (forwards[0]["url"] if forwards else ""),
        "platform": post.platform if post else "",
        "created_at": _when(post.created_at) if post else "",
        "case_size": post.case_size if post else 1,
        "agency_id": post.agency_id if post else "",
        "exists": post is not None,
    }
    forwarded_to = {f["agency_id"] for f in forwards}
    return (
        render_template(
            "cases_case.html",
            title=f"Kasus #{case_id}",
            active="cases",
            case=case,
            forwards=forwards,
            agencies={k: v for k, v in names.items() if k not in forwarded_to},
            statuses=STATUS_NAMES,
            answer_statuses=ANSWER_STATUSES,
            max_text=MAX_TEXT,
            error=error,
            form=request.form if request.method == "POST" else {},
        ),
        status,
    )


@bp.get("/cases/<int:case_id>")
def case(case_id: int) -> Any:
    return _case_page(case_id)


@bp.post("/cases/<int:case_id>/forward")
def forward(case_id: int) -> Any:
    staff_only()
    user = _user()
    store = get_store()
    agency_id = request.form.get("agency_id", "")
    if agency_id not in _agency_names():
        return _case_page(case_id, "Pilih instansi tujuan dari daftar.", 400)
    if store.case_post(case_id) is None:
        abort(404)
    note = _limited("note")
    if len(note) > MAX_TEXT:
        return _case_page(
            case_id, f"Catatan terlalu panjang: paling banyak {MAX_TEXT} karakter.", 400
        )
    if store.forward_case(case_id, agency_id, user.name, to_iso(utc_now()), note):
        audit(store, user.name, "case.forward", f"case={case_id} agency={agency_id}", client_ip())
        flash(f"Kasus #{case_id} diteruskan ke {_agency_names()[agency_id]}.")
    else:
        flash(f"Kasus #{case_id} sudah pernah diteruskan ke instansi ini; tidak diteruskan lagi.")
    if request.form.get("back") == "list":
        return redirect(url_for("cases.case_list", agency=agency_id))
    return redirect(url_for("cases.case", case_id=case_id))


@bp.post("/cases/<int:case_id>/answer")
def answer(case_id: int) -> Any:
    user = _user()
    if user.is_staff or not user.agency_id:
        abort(403)  # an answer is the agency's
    store = get_store()
    own = store.case_forward(case_id, user.agency_id)
    if own is None:
        abort(403)
    status = request.form.get("status", "")
    response = _limited("response")
    if status not in ANSWER_STATUSES:
        return _case_page(case_id, "Pilih status: Ditanggapi atau Selesai.", 400)
    if not response:
        return _case_page(case_id, "Tulis tanggapan instansi sebelum mengirim.", 400)
    if len(response) > MAX_TEXT:
        return _case_page(
            case_id,
            f"Tanggapan terlalu panjang ({len(response)} karakter): paling banyak "
            f"{MAX_TEXT} karakter. Persingkat lalu kirim lagi.",
            400,
        )
    store.answer_forward(own.id, status, response, user.name, to_iso(utc_now()))
    audit(
        store,
        user.name,
        "case.answer",
        f"case={case_id} agency={user.agency_id} status={status}",
        client_ip(),
    )
    flash("Tanggapan tersimpan.")
    return redirect(url_for("cases.case", case_id=case_id))


@api_bp.get("/agencies/<agency_id>/cases")
def api_cases(agency_id: str) -> Any:
    """The cases forwarded to the agency, newest first, with status and answer."""
    api_user: User = g.api_user
    if not api_user.can_see(agency_id):
        abort(403)
    if agency_id not in _agency_names():
        abort(404)
    items = []
    zone_times = ("forwarded_at", "responded_at", "created_at")
    for forward in get_store().case_forwards(agency_id=agency_id):
        item = _view(forward)
        for key in zone_times:
            raw = getattr(forward, key)
            item[key] = parse_iso(raw).astimezone(_zone()).isoformat() if raw else None
            item[f"{key}_utc"] = raw or None
        item.pop("id")
        items.append(item)
    return jsonify(agency_id=agency_id, timezone=current_config().timezone, cases=items)


def _zone() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(current_config().timezone)


bp.register_blueprint(api_bp)
