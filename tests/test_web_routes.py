"""Every route of the web app, with both roles: an agency user never reads or changes
another agency's data, staff reach every page. The routes are read from the app itself,
so a new route fails this test until its rule for agency users is written here."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.accounts import new_token
from monitor.clock import local_date, to_iso, utc_now
from monitor.store import Store
from tests.webutil import csrf, login, make_site

OWN, OTHER = "disdukcapil-kota-kupang", "rsud-sk-lerik"
STAFF, AGENCY = "staf.rute", "petugas.rute"
PUBLIC = {"/login", "/logout", "/static/<path:filename>", "/static/page.css"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    config, _ = make_site(
        tmp_path_factory.mktemp("routes"),
        [
            (20, "ktp saya sudah 2 bulan belum jadi di dukcapil kota kupang, tolong"),
            (30, "antre dari subuh di rsud sk lerik, dokter belum datang sampai siang"),
            (40, "obat habis lagi di rsud sk lerik, pasien disuruh beli di luar"),
        ],
        {STAFF: ("ombudsman", None), AGENCY: ("agency", OWN)},
    )
    with Store.open(config.database) as store:
        post_id = store.db.execute(
            "SELECT post_id FROM analysis WHERE agency_id = ? AND is_complaint = 1 LIMIT 1",
            [OTHER],
        ).fetchone()[0]
        assert store.forward_case(post_id, OTHER, STAFF, to_iso(utc_now()))
        token = new_token(store, AGENCY)
    from monitor.web import create_app

    app = create_app(config, secret_key=b"r" * 32)
    app.config["TESTING"] = True
    yesterday = local_date(utc_now(), config.timezone) - timedelta(days=1)
    values = {"agency_id": OTHER, "case_id": post_id, "day": yesterday.isoformat()}
    return app, values, token


def url(rule: str, values: dict) -> str:
    for name, value in values.items():
        rule = rule.replace(f"<{name}>", str(value)).replace(f"<int:{name}>", str(value))
    return rule


# What an agency user of OWN gets on each route, asking for OTHER's data (or a page for
# staff only). "own": the answer concerns its own agency only (checked below).
AGENCY_USER = {
    ("GET", "/"): "own",
    ("GET", "/agencies/<agency_id>"): 403,
    ("GET", "/api/agencies/<agency_id>/cases"): 403,
    ("GET", "/api/agencies/<agency_id>/complaints"): 403,
    ("GET", "/api/agencies/<agency_id>/trend"): 403,
    ("GET", "/cases"): "own",
    ("GET", "/cases/<int:case_id>"): 403,
    ("POST", "/cases/<int:case_id>/answer"): 403,
    ("POST", "/cases/<int:case_id>/forward"): 403,
    ("GET", "/digest"): 403,
    ("GET", "/digest/<day>"): 403,
    ("GET", "/digest/pilih"): 403,
    ("GET", "/review"): 403,
    ("POST", "/review"): 403,
    ("POST", "/review/ulang"): 403,
    ("POST", "/review/urungkan"): 403,
}


def routes(app) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule not in PUBLIC
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_route_has_its_rule_for_agency_users(world):
    app, _, _ = world
    assert routes(app) == set(AGENCY_USER), "classify the new route in AGENCY_USER"


def test_an_agency_user_never_reaches_another_agencys_data(world):
    app, values, token = world
    client, response = login(app, AGENCY, ip="10.9.0.2")
    assert response.status_code == 302
    token_csrf = csrf(client.get("/cases").get_data(as_text=True))
    for (method, rule), expected in AGENCY_USER.items():
        path = url(rule, values)
        if method == "GET":
            answer = client.get(path)
        else:
            form = {"csrf_token": token_csrf, "response": "sudah", "status": "selesai"}
            answer = client.post(path, data=form)
        if expected == "own":
            page = answer.get_data(as_text=True)
            assert answer.status_code in (200, 302), (method, path)
            assert f"/cases/{values['case_id']}" not in page, (method, path)
            if answer.status_code == 302:
                assert answer.headers["Location"] == f"/agencies/{OWN}"
        else:
            assert answer.status_code == expected, (method, path, answer.status_code)
        if rule.startswith("/api/"):  # the same rule with the agency's token
            bearer = app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})
            assert bearer.status_code == expected, (path, bearer.status_code)
            own = app.test_client().get(
                url(rule, {**values, "agency_id": OWN}),
                headers={"Authorization": f"Bearer {token}"},
            )
            assert own.status_code == 200, (path, own.status_code)


def test_staff_reach_every_page_and_the_other_agencys_case(world):
    app, values, _ = world
    client, response = login(app, STAFF, ip="10.9.0.1")
    assert response.status_code == 302
    for method, rule in AGENCY_USER:
        if method == "GET":
            answer = client.get(url(rule, values))
            if rule == "/digest/pilih":  # the date picker sends on to the day's digest
                assert answer.headers["Location"].startswith("/digest"), rule
                continue
            assert answer.status_code == 200, (rule, answer.status_code)
    case = client.get(url("/cases/<int:case_id>", values)).get_data(as_text=True)
    assert "diteruskan" in case.lower()
