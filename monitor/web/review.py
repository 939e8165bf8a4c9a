"""The review queue: Ombudsman staff label posts one at a time, from the keyboard.

``/review`` shows the next post of ``monitor.review.review_queue`` (the posts the
model is least sure of, spread over sectors and agencies, and every fifth post one it
was sure of) with the model's answers filled in. "Benar" stores the model's answers as
the office's label, "Simpan" the answers as corrected in the form, "Lewati" passes the
post for this session. Each label is an office label (source_file 'web-review',
source_row the post id, imported_by the user), so ``monitor train`` learns from it and
the post leaves the queue; "Urungkan" deletes one of the user's own labels again. Every
label and undo is written to the audit log. The page is a plain form: the small
``review.js`` adds single-key shortcuts and nothing else.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from monitor.accounts import audit
from monitor.clock import parse_iso, to_iso, utc_now
from monitor.formatting import format_local
from monitor.label_files import fold_text
from monitor.labels import SECTORS, TOPICS, UNRESOLVED_AGENCY_NAME, sector_name, topic_name
from monitor.office_labels import label_key
from monitor.report import web_link
from monitor.store import WEB_REVIEW_SOURCE, OfficeLabel, ReviewCandidate, Store
from monitor.web.context import client_ip, current_config, current_user, get_store, staff_only

bp = Blueprint("review", __name__)

MAX_SKIPPED = 50  # post ids passed with "Lewati", kept in the session
RECENT_LABELS = 8


def _model(store: Store) -> tuple[str, float]:
    from monitor.classify import model_version
    from monitor.review import complaint_threshold

    return model_version(store=store), complaint_threshold(store=store)


def _skipped() -> list[int]:
    return [int(x) for x in session.get("review_skip", []) if isinstance(x, int)]


def _agencies() -> dict[str, str]:
    return {agency.id: agency.name for agency in current_config().agencies}


def _answers(label: OfficeLabel) -> str:
    """A label's answers in a few words, for the audit log and the list of labels."""
    parts = ["pengaduan" if label.is_complaint else "bukan pengaduan"]
    if label.sector:
        parts.append(f"sektor {label.sector}")
    if label.agency:
        parts.append(f"instansi {label.agency}")
    if label.topics:
        parts.append(f"masalah {','.join(label.topics)}")
    return "; ".join(parts)


def _shown(label: OfficeLabel) -> str:
    """A label's answers as staff read them (Indonesian names)."""
    parts = ["pengaduan" if label.is_complaint else "bukan pengaduan"]
    if label.sector:
        parts.append(sector_name(label.sector))
    if label.agency:
        parts.append(_agencies().get(label.agency, label.agency))
    if label.topics:
        parts.append(", ".join(topic_name(topic) for topic in label.topics))
    return " · ".join(parts)


def _label(
    post: ReviewCandidate,
    is_complaint: bool,
    sector: str,
    topics: tuple[str, ...],
    agency: str,
    user: str,
) -> OfficeLabel:
    """The office label of ``post`` with these answers: topics only for a complaint, no
    agency when none was named."""
    said_topics = tuple(sorted(set(topics))) if is_complaint else None
    said_agency = agency or None
    return OfficeLabel(
        text=post.text_display,
        is_complaint=is_complaint,
        sector=sector or None,
        topics=said_topics,
        agency=said_agency,
        source_file=WEB_REVIEW_SOURCE,
        source_row=post.post_id,
        imported_at=to_iso(utc_now()),
        imported_by=user,
        label_key=label_key(
            post.text_display, is_complaint, sector or None, said_topics, said_agency
        ),
    )


def _from_form(post: ReviewCandidate, user: str) -> OfficeLabel:
    """The answers in the form; 400 for a value the form never offers."""
    complaint = request.form.get("is_complaint", "")
    sector = request.form.get("sector", "")
    topics = tuple(request.form.getlist("topics"))
    agency = request.form.get("agency", "")
    if complaint not in ("1", "0") or sector not in SECTORS:
        abort(400)
    if any(topic not in TOPICS for topic in topics):
        abort(400)
    if agency and agency not in _agencies() and agency != post.agency_id:
        abort(400)
    return _label(post, complaint == "1", sector, topics, agency, user)


def _view(post: ReviewCandidate) -> dict[str, Any]:
    config = current_config()
    agencies = _agencies()
    if post.agency_id and post.agency_id not in agencies:
        agencies[post.agency_id] = post.agency_id
    return {
        "post": post,
        "link": web_link(post.url),
        "time": format_local(parse_iso(post.created_at), config.timezone),
        "agencies": agencies,
        "agency_name": agencies.get(post.agency_id, UNRESOLVED_AGENCY_NAME),
    }


@bp.get("/review")
def queue() -> Any:
    from monitor.review import review_queue

    staff_only()
    user = current_user()
    assert user is not None
    store = get_store()
    version, threshold = _model(store)
    found = review_queue(store, version, threshold, skip=_skipped())
    post = found.next(int(session.get("review_shown", 0)))
    sure = post is not None and post not in found.uncertain
    recent = [
        (label, _shown(label))
        for label in store.recent_office_labels(WEB_REVIEW_SOURCE, user.name, RECENT_LABELS)
    ]
    return render_template(
        "review.html",
        title="Tinjau label",
        active="review",
        waiting=found.waiting,
        sure=sure,
        recent=recent,
        skipped=len(_skipped()),
        sectors=SECTORS,
        topics=TOPICS,
        model_version=version,
        **(_view(post) if post is not None else {"post": None}),
    )


@bp.post("/review")
def label() -> Response:
    staff_only()
    user = current_user()
    assert user is not None
    action = request.form.get("action", "")
    try:
        post_id = int(request.form.get("post_id", ""))
    except ValueError:
        abort(400)
    if action not in ("benar", "simpan", "lewati"):
        abort(400)
    session["review_shown"] = int(session.get("review_shown", 0)) + 1
    if action == "lewati":
        session["review_skip"] = [*_skipped(), post_id][-MAX_SKIPPED:]
        return redirect(url_for("review.queue"))
    store = get_store()
    version, _ = _model(store)
    post = store.review_candidate(version, post_id)
    if post is None:
        abort(404)
    if fold_text(post.text_display) in {fold_text(t) for t in store.office_label_texts()}:
        flash(f"Pos {post_id} sudah dilabeli; tidak disimpan lagi.")
        return redirect(url_for("review.queue"))
    model = _label(post, post.is_complaint, post.sector, post.topics, post.agency_id, user.name)
    new = model if action == "benar" else _from_form(post, user.name)
    store.add_office_labels([new])
    verb = "sesuai model" if new.label_key == model.label_key else "dikoreksi"
    audit(
        store,
        user.name,
        "label.add",
        detail=f"post {post_id}: {verb}: {_answers(new)}",
        ip=client_ip(),
    )
    flash(f"Label pos {post_id} tersimpan ({verb}).")
    return redirect(url_for("review.queue"))


@bp.post("/review/urungkan")
def undo() -> Response:
    staff_only()
    user = current_user()
    assert user is not None
    key = request.form.get("label_key", "")
    store = get_store()
    removed = store.delete_office_label(key, user.name) if key else None
    if removed is None:
        abort(404)  # no such label of this user's (another's is never undone here)
    audit(
        store,
        user.name,
        "label.undo",
        detail=f"post {removed.source_row}: {_answers(removed)}",
        ip=client_ip(),
    )
    session["review_skip"] = [p for p in _skipped() if p != removed.source_row]
    flash(f"Label pos {removed.source_row} diurungkan; pos kembali ke antrean.")
    return redirect(url_for("review.queue"))


@bp.post("/review/ulang")
def unskip() -> Response:
    """Show the posts passed with "Lewati" again."""
    staff_only()
    session.pop("review_skip", None)
    return redirect(url_for("review.queue"))
