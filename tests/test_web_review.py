"""The review queue (/review): who may use it, CSRF, "Benar", "Simpan", "Lewati",
undo, the audit log, and a post shown escaped and redacted."""

from __future__ import annotations

import re

import pytest

from monitor.accounts import audit_log
from monitor.office_labels import label_key
from monitor.review import ReviewQueue, complaint_threshold, review_queue
from monitor.store import WEB_REVIEW_SOURCE, ReviewCandidate, Store
from tests.webutil import csrf, login, make_site

OWN = "disdukcapil-kota-kupang"
OTHER = "rsud-sk-lerik"
NIK = "5371012345678901"
SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"  # stored as <script>...: text, not HTML
STAFF, STAFF2, AGENCY = "staf.tinjau", "staf.kedua", "petugas.dukcapil"
TEXTS = [
    (30, f"ktp saya sudah 2 bulan belum jadi di dukcapil kota kupang, NIK {NIK} tolong"),
    (40, f"KK belum dicetak di dukcapil kota kupang {SCRIPT} berkas tidak diproses"),
    (50, "antre dari subuh di rsud sk lerik, dokter belum datang sampai siang"),
    (60, "urus akta kelahiran di dukcapil kota kupang sudah 6 minggu belum jadi"),
    (70, "selamat pagi kupang, cuaca cerah hari ini"),
    (80, "petugas rsud sk lerik minta uang tambahan supaya cepat dilayani"),
    (90, "jalan di oebobo rusak parah dan berlubang sudah setahun"),
    (100, "terima kasih dukcapil kota kupang, pelayanan cepat dan ramah"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from monitor.web import create_app

    users = {STAFF: ("ombudsman", None), STAFF2: ("ombudsman", None), AGENCY: ("agency", OWN)}
    config, _ = make_site(tmp_path_factory.mktemp("review"), TEXTS, users)
    app = create_app(config, secret_key=b"r" * 32)
    app.config["TESTING"] = True
    return {"config": config, "app": app}


@pytest.fixture(scope="module")
def staff(site):
    client, response = login(site["app"], STAFF)
    assert response.status_code == 302
    return client


def page(client) -> str:
    response = client.get("/review")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def shown_post(html: str) -> int:
    return int(re.search(r'name="post_id" value="(\d+)"', html).group(1))


def store_of(site) -> Store:
    return Store.open(site["config"].database)


def web_labels(site) -> list:
    with store_of(site) as store:
        return [lb for lb in store.office_labels() if lb.source_file == WEB_REVIEW_SOURCE]


def queue_ids(site) -> set[int]:
    from monitor.classify import model_version

    with store_of(site) as store:
        version = model_version(store=store)
        found = review_queue(store, version, complaint_threshold(store=store), n=50)
    return {p.post_id for p in found.uncertain + found.confident}


def candidate(site, post_id: int) -> ReviewCandidate:
    from monitor.classify import model_version

    with store_of(site) as store:
        found = store.review_candidate(model_version(store=store), post_id)
    assert found is not None
    return found


def test_agency_users_may_not_open_or_post_the_review(site):
    client, _ = login(site["app"], AGENCY, ip="10.9.0.1")
    token = csrf(client.get(f"/agencies/{OWN}").get_data(as_text=True))
    assert client.get("/review").status_code == 403
    for path, data in (
        ("/review", {"csrf_token": token, "post_id": "1", "action": "benar"}),
        ("/review/urungkan", {"csrf_token": token, "label_key": "x"}),
        ("/review/ulang", {"csrf_token": token}),
    ):
        assert client.post(path, data=data).status_code == 403, path
    assert web_labels(site) == []
    assert "Tinjau" not in client.get(f"/agencies/{OWN}").get_data(as_text=True)


def test_a_post_without_csrf_token_is_refused(site, staff):
    post_id = shown_post(page(staff))
    assert staff.post("/review", data={"post_id": post_id, "action": "benar"}).status_code == 400
    assert staff.post("/review/urungkan", data={"label_key": "x"}).status_code == 400
    assert web_labels(site) == []


def test_a_post_is_shown_escaped_and_redacted(site):
    # before any test labels a post: every post is in the queue
    client, _ = login(site["app"], STAFF2, ip="10.9.0.4")
    seen = []
    for _ in range(len(TEXTS)):
        html = page(client)
        assert NIK not in html and "<script>alert" not in html
        seen.append(html)
        if "post_id" not in html:
            break
        token, post_id = csrf(html), shown_post(html)
        client.post("/review", data={"csrf_token": token, "post_id": post_id, "action": "lewati"})
    assert any("[NIK]" in html for html in seen)
    assert any(SCRIPT in html for html in seen)


def test_the_page_is_a_keyboard_form_without_inline_script_or_style(site, staff):
    html = page(staff)
    assert 'aria-current="page">Tinjau<' in html
    for text in ('accesskey="y"', 'accesskey="n"', 'accesskey="s"', 'accesskey="b"'):
        assert text in html
    assert ">Simpan" in html and ">Benar" in html and ">Lewati" in html
    assert html.index('value="simpan"') < html.index('value="benar"')  # Enter saves the form
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/review.js" defer>']
    assert "style=" not in html and "<style" not in html
    assert "unsafe-inline" not in staff.get("/review").headers["Content-Security-Policy"]
    assert staff.get("/static/review.js").status_code == 200


def test_benar_stores_the_models_answers_and_the_post_leaves_the_queue(site, staff):
    html = page(staff)
    post_id = shown_post(html)
    model = candidate(site, post_id)
    response = staff.post(
        "/review", data={"csrf_token": csrf(html), "post_id": post_id, "action": "benar"}
    )
    assert response.status_code == 302
    [label] = [lb for lb in web_labels(site) if lb.source_row == post_id]
    assert label.text == model.text_display and label.is_complaint == model.is_complaint
    assert label.sector == model.sector and label.agency == (model.agency_id or None)
    assert label.topics == (tuple(sorted(model.topics)) if model.is_complaint else None)
    assert label.imported_by == STAFF and label.imported_at.endswith("Z")
    assert label.label_key == label_key(
        label.text, label.is_complaint, label.sector, label.topics, label.agency
    )
    assert post_id not in queue_ids(site)
    again = {"csrf_token": csrf(html), "post_id": post_id, "action": "simpan", "sector": "lainnya"}
    assert staff.post("/review", data={**again, "is_complaint": "0"}).status_code == 302
    assert len([lb for lb in web_labels(site) if lb.source_row == post_id]) == 1  # not twice
    after = page(staff)
    assert shown_post(after) != post_id and "tersimpan" in after
    assert f"Pos {post_id}</strong>" in after  # in "Label terakhir Anda"
    with store_of(site) as store:
        entries = audit_log(store, 50)
    assert any(
        e.action == "label.add" and e.actor == STAFF and e.detail.startswith(f"post {post_id}:")
        for e in entries
    )


def test_simpan_stores_the_corrected_answers(site, staff):
    html = page(staff)
    post_id = shown_post(html)
    data = {
        "csrf_token": csrf(html),
        "post_id": post_id,
        "action": "simpan",
        "is_complaint": "1",
        "sector": "lainnya",
        "agency": OTHER,
        "topics": ["pungli", "antrean"],
    }
    assert staff.post("/review", data=data).status_code == 302
    [label] = [lb for lb in web_labels(site) if lb.source_row == post_id]
    assert (label.is_complaint, label.sector, label.agency) == (True, "lainnya", OTHER)
    assert label.topics == ("antrean", "pungli")
    assert post_id not in queue_ids(site)
    bad = {**data, "post_id": shown_post(page(staff)), "sector": "bukan-sektor"}
    assert staff.post("/review", data=bad).status_code == 400


def test_undo_deletes_only_ones_own_label_and_the_post_returns(site, staff):
    html = page(staff)
    post_id = shown_post(html)
    staff.post("/review", data={"csrf_token": csrf(html), "post_id": post_id, "action": "benar"})
    [label] = [lb for lb in web_labels(site) if lb.source_row == post_id]
    assert post_id not in queue_ids(site)

    other, _ = login(site["app"], STAFF2, ip="10.9.0.2")
    other_token = csrf(page(other))
    refused = other.post(
        "/review/urungkan", data={"csrf_token": other_token, "label_key": label.label_key}
    )
    assert refused.status_code == 404
    assert label in web_labels(site)

    html = page(staff)
    assert f'name="label_key" value="{label.label_key}"' in html
    response = staff.post(
        "/review/urungkan", data={"csrf_token": csrf(html), "label_key": label.label_key}
    )
    assert response.status_code == 302
    assert label not in web_labels(site)
    assert post_id in queue_ids(site)
    with store_of(site) as store:
        entries = audit_log(store, 50)
    assert any(e.action == "label.undo" and e.actor == STAFF for e in entries)


def test_lewati_passes_a_post_for_this_session(site):
    client, _ = login(site["app"], STAFF2, ip="10.9.0.3")
    html = page(client)
    first = shown_post(html)
    before = len(web_labels(site))
    client.post("/review", data={"csrf_token": csrf(html), "post_id": first, "action": "lewati"})
    html = page(client)
    assert shown_post(html) != first and "1 dilewati" in html
    assert len(web_labels(site)) == before
    client.post("/review/ulang", data={"csrf_token": csrf(html)})
    assert "dilewati" not in page(client)


def fake(i: int, score: float = 0.5, text: str = "") -> ReviewCandidate:
    return ReviewCandidate(i, "", "", text or f"t{i}", True, score, f"s{i}", (), "", False)


class FakeStore:
    def __init__(self, posts, labelled):
        self.posts, self.labelled = posts, labelled

    def review_candidates(self, version):
        return iter(self.posts)

    def office_label_texts(self):
        return iter(self.labelled)


def test_the_queue_adds_a_sample_of_confident_posts_never_labelled_or_skipped():
    posts = [fake(1, 0.5), fake(2, 0.45), fake(3, 0.6), fake(4, 0.99), fake(5, 0.02)]
    posts += [fake(6, 0.97), fake(7, 0.98, "sudah dilabeli"), fake(8, 0.01)]
    found = review_queue(FakeStore(posts, ["Sudah  dilabeli"]), "v", 0.5, skip={8}, n=2)
    assert [p.post_id for p in found.uncertain] == [1, 2]
    sample = [p.post_id for p in found.confident]  # 2 of 4, 5, 6 in a fixed random order
    assert len(sample) == 2 and set(sample) <= {4, 5, 6}
    assert review_queue(FakeStore(posts, ["Sudah  dilabeli"]), "v", 0.5, skip={8}, n=2) == found
    assert found.waiting == 6
    assert review_queue(FakeStore(posts, []), "v", 0.5, n=2).confident[0].post_id in {4, 5, 6, 8}


def test_every_fifth_post_is_one_the_model_was_sure_of():
    post = fake

    queue = ReviewQueue([post(1), post(2)], [post(9)])
    assert [queue.next(n).post_id for n in range(6)] == [1, 1, 1, 1, 9, 1]
    assert ReviewQueue([], [post(9)]).next(0).post_id == 9
    assert ReviewQueue().next(4) is None
