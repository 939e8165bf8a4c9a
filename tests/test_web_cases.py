"""Cases forwarded to agencies and their answers: who may forward, see and answer,
CSRF, the audit log, the API's rules, no duplicate forwards, the response's limit."""

from __future__ import annotations

import pytest

from monitor.accounts import audit_log, new_token
from monitor.store import Store
from tests.test_web import AGENCY, OTHER, OWN, STAFF, _texts
from tests.webutil import csrf, login, make_site

RIVAL = "petugas.rsud"  # an agency user of the other agency
MORE = [
    (60, "petugas dukcapil kota kupang minta uang pelicin untuk percepat e-ktp, tolong ditindak"),
    (90, "online antrean dukcapil kota kupang error terus, sudah 3 hari tidak bisa daftar"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The pipeline over recent posts about two agencies, a user of each and staff."""
    from monitor.classify import model_version

    config, _ = make_site(
        tmp_path_factory.mktemp("cases"),
        [*_texts(), *MORE],
        {STAFF: ("ombudsman", None), AGENCY: ("agency", OWN), RIVAL: ("agency", OTHER)},
    )
    with Store.open(config.database) as store:
        tokens = {name: new_token(store, name) for name in (STAFF, AGENCY, RIVAL)}
        version = model_version(store=store)
        cases = {
            agency_id: [row["id"] for row in store.latest_complaints(agency_id, version, 5)]
            for agency_id in (OWN, OTHER)
        }
    assert cases[OWN] and cases[OTHER]
    from monitor.web import create_app

    app = create_app(config, secret_key=b"k" * 32)
    app.config["TESTING"] = True
    return {"config": config, "app": app, "tokens": tokens, "cases": cases}


def _client(site, name: str, ip: str):
    client, response = login(site["app"], name, ip=ip)
    assert response.status_code == 302
    return client


@pytest.fixture(scope="module")
def staff(site):
    return _client(site, STAFF, "10.9.0.1")


@pytest.fixture(scope="module")
def agency(site):
    return _client(site, AGENCY, "10.9.0.2")


@pytest.fixture(scope="module")
def rival(site):
    return _client(site, RIVAL, "10.9.0.3")


def token_of(client, path: str = "/cases") -> str:
    return csrf(client.get(path).get_data(as_text=True))


def forward(client, case_id: int, agency_id: str, note: str = ""):
    data = {"agency_id": agency_id, "note": note, "csrf_token": token_of(client)}
    return client.post(f"/cases/{case_id}/forward", data=data)


def answer(client, case_id: int, response: str, status: str = "ditanggapi"):
    data = {"response": response, "status": status, "csrf_token": token_of(client)}
    return client.post(f"/cases/{case_id}/answer", data=data)


def audits(site, action: str):
    with Store.open(site["config"].database) as store:
        return [e for e in audit_log(store, 500) if e.action == action]


def test_staff_forwards_the_agency_answers_and_staff_sees_the_answer(site, staff, agency):
    case_id = site["cases"][OWN][0]
    listing = staff.get(f"/cases?agency={OWN}").get_data(as_text=True)
    assert "Teruskan ke instansi" in listing and f"/cases/{case_id}/forward" in listing
    response = forward(staff, case_id, OWN, "Mohon ditindaklanjuti <segera>")
    assert response.status_code == 302 and response.headers["Location"] == f"/cases/{case_id}"

    mine = agency.get("/cases").get_data(as_text=True)
    assert f"Kasus #{case_id}" in mine and "Diteruskan" in mine
    page = agency.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Mohon ditindaklanjuti &lt;segera&gt;" in page  # autoescaped
    assert "WITA" in page and "Kirim tanggapan" in page and "Teruskan ke instansi" not in page
    assert "5371012345678901" not in page  # only the redacted text

    response = answer(agency, case_id, "Sudah kami hubungi pelapor; KTP dicetak besok.", "selesai")
    assert response.status_code == 302
    seen = staff.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Sudah kami hubungi pelapor" in seen and "Selesai" in seen and AGENCY in seen
    done = staff.get("/cases?status=selesai").get_data(as_text=True)
    assert f"Kasus #{case_id}" in done
    assert f"Kasus #{case_id}" not in staff.get("/cases?status=diteruskan").get_data(as_text=True)

    forwards = audits(site, "case.forward")
    assert any(e.actor == STAFF and f"case={case_id}" in e.detail for e in forwards)
    answers = audits(site, "case.answer")
    assert any(e.actor == AGENCY and "status=selesai" in e.detail for e in answers)


def test_forwarding_the_same_case_twice_does_not_duplicate(site, staff):
    case_id = site["cases"][OWN][1]
    assert forward(staff, case_id, OWN).status_code == 302
    page = staff.get(forward(staff, case_id, OWN).headers["Location"]).get_data(as_text=True)
    assert "sudah pernah diteruskan" in page
    with Store.open(site["config"].database) as store:
        assert len(store.case_forwards(case_id=case_id)) == 1
    assert len([e for e in audits(site, "case.forward") if f"case={case_id} " in e.detail]) == 1


def test_an_agency_user_gets_403_on_another_agencys_case(site, staff, agency, rival):
    case_id = site["cases"][OTHER][0]
    assert forward(staff, case_id, OTHER).status_code == 302
    assert rival.get(f"/cases/{case_id}").status_code == 200
    assert agency.get(f"/cases/{case_id}").status_code == 403
    assert answer(agency, case_id, "bukan urusan kami").status_code == 403
    assert agency.get("/cases/999999").status_code == 403  # never tells what exists
    assert f"Kasus #{case_id}" not in agency.get("/cases").get_data(as_text=True)
    own_case = site["cases"][OWN][0]  # forwarded to OWN only
    assert rival.get(f"/cases/{own_case}").status_code == 403
    assert answer(rival, own_case, "x").status_code == 403
    with Store.open(site["config"].database) as store:
        assert store.case_forward(case_id, OTHER).status == "diteruskan"


def test_forwarding_is_staff_only_and_answering_agency_only(site, staff, agency):
    case_id = site["cases"][OWN][2]
    assert forward(agency, case_id, OWN).status_code == 403
    with Store.open(site["config"].database) as store:
        assert store.case_forward(case_id, OWN) is None
    assert answer(staff, site["cases"][OWN][0], "staf tidak menjawab").status_code == 403


def test_a_post_without_csrf_token_is_refused(site, staff, agency):
    case_id = site["cases"][OWN][2]
    response = staff.post(f"/cases/{case_id}/forward", data={"agency_id": OWN})
    assert response.status_code == 400
    response = agency.post(
        f"/cases/{site['cases'][OWN][0]}/answer",
        data={"response": "x", "status": "selesai", "csrf_token": "salah"},
    )
    assert response.status_code == 400


def test_a_response_over_the_limit_or_empty_is_refused_with_a_message(site, staff, agency):
    case_id = site["cases"][OWN][3]
    assert forward(staff, case_id, OWN).status_code == 302
    response = answer(agency, case_id, "a" * 2001)
    assert response.status_code == 400
    assert "paling banyak 2000 karakter" in response.get_data(as_text=True)
    response = answer(agency, case_id, "   ")
    assert response.status_code == 400 and "Tulis tanggapan" in response.get_data(as_text=True)
    assert answer(agency, case_id, "ok", "diteruskan").status_code == 400
    with Store.open(site["config"].database) as store:
        assert store.case_forward(case_id, OWN).response == ""
    assert answer(agency, case_id, "b" * 2000).status_code == 302


def test_an_unknown_agency_or_case_cannot_be_forwarded(site, staff):
    assert forward(staff, site["cases"][OWN][2], "tidak-ada").status_code == 400
    assert forward(staff, 999999, OWN).status_code == 404
    assert staff.get("/cases/999999").status_code == 404


def test_the_api_lists_an_agencys_cases_with_the_apis_rules(site, staff, agency):
    case_id = site["cases"][OWN][4] if len(site["cases"][OWN]) > 4 else site["cases"][OWN][0]
    forward(staff, case_id, OWN, "catatan")
    client = site["app"].test_client()
    path = f"/api/agencies/{OWN}/cases"
    assert client.get(path).status_code == 401
    bad = client.get(path, headers={"Authorization": "Bearer salah"})
    assert bad.status_code == 401 and "WWW-Authenticate" in bad.headers
    own = {"Authorization": f"Bearer {site['tokens'][AGENCY]}"}
    response = client.get(path, headers=own)
    assert response.status_code == 200
    body = response.get_json()
    assert body["agency_id"] == OWN and body["cases"]
    item = next(c for c in body["cases"] if c["case_id"] == case_id)
    assert item["status"] == "diteruskan" and item["note"] == "catatan"
    assert item["forwarded_at"].endswith("+08:00") and "response" in item
    assert client.get(f"/api/agencies/{OTHER}/cases", headers=own).status_code == 403
    rival = {"Authorization": f"Bearer {site['tokens'][RIVAL]}"}
    assert client.get(path, headers=rival).status_code == 403
    staff_token = {"Authorization": f"Bearer {site['tokens'][STAFF]}"}
    assert client.get(f"/api/agencies/{OTHER}/cases", headers=staff_token).status_code == 200
    assert client.get("/api/agencies/tidak-ada/cases", headers=staff_token).status_code == 404


def test_pages_have_no_inline_script_or_style_and_need_a_session(site, staff, agency):
    for client, path in (
        (staff, "/cases"),
        (agency, "/cases"),
        (staff, f"/cases/{site['cases'][OWN][0]}"),
    ):
        html = client.get(path).get_data(as_text=True)
        assert "<script" not in html and "style=" not in html
        assert 'href="/cases"' in html  # the nav link
    assert site["app"].test_client().get("/cases").status_code == 302


def test_forwards_are_stored_once_and_answers_need_a_valid_status(tmp_path):
    with Store.open(tmp_path / "db.sqlite") as store:
        assert store.forward_case(1, "a", "staf", "2026-01-01T00:00:00Z")
        assert not store.forward_case(1, "a", "staf", "2026-01-02T00:00:00Z", "lagi")
        assert store.forward_case(1, "b", "staf", "2026-01-03T00:00:00Z")
        assert [f.agency_id for f in store.case_forwards()] == ["b", "a"]  # newest first
        found = store.case_forward(1, "a")
        assert found is not None and found.text == "" and found.note == ""
        with pytest.raises(ValueError):
            store.answer_forward(found.id, "diteruskan", "x", "budi", "2026-01-04T00:00:00Z")
        assert store.answer_forward(found.id, "selesai", "beres", "budi", "2026-01-04T00:00:00Z")
        assert store.case_forwards(status="selesai")[0].response == "beres"


def test_an_older_database_gains_the_case_forwards_table(tmp_path):
    import sqlite3

    path = tmp_path / "old.db"
    with Store.open(path):
        pass
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE case_forwards")
    conn.execute("PRAGMA user_version = 11")
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        assert store.schema_version >= 12
        assert store.forward_case(7, "a", "staf", "2026-01-01T00:00:00Z", "catatan")
        assert store.case_forward(7, "a") is not None
