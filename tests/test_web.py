"""The web app: login, sessions, CSRF, who sees what, the API, headers, escaping,
and `monitor serve` answering over real HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from monitor.accounts import (
    add_user,
    audit_log,
    disable_user,
    new_token,
    revoke_tokens,
)
from monitor.clock import utc_now
from monitor.store import Store
from tests.webutil import PASSWORD, csrf, login, make_site

OWN = "disdukcapil-kota-kupang"
OTHER = "rsud-sk-lerik"
NIK = "5371012345678901"
STAFF, AGENCY, SPARE = "staf.ombudsman", "petugas.dukcapil", "petugas.cadangan"
SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"  # stored as <script>...: text, not HTML


def _texts() -> list[tuple[int, str]]:
    """(hours ago, text): complaints about both agencies in the last days."""
    return [
        (30, f"ktp saya sudah 2 bulan belum jadi di dukcapil kota kupang, NIK {NIK} tolong"),
        (50, f"KK belum dicetak di dukcapil kota kupang {SCRIPT} berkas tidak diproses"),
        (75, "antre dari subuh di rsud sk lerik, dokter belum datang sampai siang"),
        (100, "urus akta kelahiran di dukcapil kota kupang sudah 6 minggu belum jadi"),
        (200, "antre dari subuh di rsud sk lerik lagi, 5 jam belum dipanggil"),
    ]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A config file, the pipeline over recent posts, three users and their tokens."""
    folder = tmp_path_factory.mktemp("web")
    config, path = make_site(
        folder,
        _texts(),
        {STAFF: ("ombudsman", None), AGENCY: ("agency", OWN), SPARE: ("agency", OWN)},
    )
    with Store.open(config.database) as store:
        tokens = {name: new_token(store, name) for name in (STAFF, AGENCY)}
    from monitor.web import create_app

    app = create_app(config, secret_key=b"k" * 32)
    app.config["TESTING"] = True
    return {"config": config, "path": path, "app": app, "tokens": tokens}


@pytest.fixture(scope="module")
def staff(site):
    client, response = login(site["app"], STAFF)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    return client


@pytest.fixture(scope="module")
def agency(site):
    client, response = login(site["app"], AGENCY, ip="10.0.0.2")
    assert response.status_code == 302
    return client


def text_of(response) -> str:
    return response.get_data(as_text=True)


# --- login --------------------------------------------------------------------------


def test_login_page_has_a_password_field_and_safe_headers(site):
    response = site["app"].test_client().get("/login")
    html = text_of(response)
    assert response.status_code == 200
    assert 'type="password"' in html and "Kata sandi" in html
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "<script" not in html and "style=" not in html


def test_wrong_password_shows_an_error_and_is_audited(site):
    client, response = login(site["app"], STAFF, "salah-kata-sandi-ini", ip="10.1.1.1")
    assert response.status_code == 200
    assert "Nama pengguna atau kata sandi salah" in text_of(response)
    with Store.open(site["config"].database) as store:
        entries = audit_log(store, 50)
    assert any(e.action == "login.failed" and e.actor == STAFF for e in entries)


def test_the_sixth_failed_attempt_is_refused_even_with_the_right_password(site):
    app = site["app"]
    for _ in range(5):
        _, response = login(app, SPARE, "salah-kata-sandi-ini", ip="10.2.2.2")
        assert response.status_code == 200
    _, response = login(app, SPARE, PASSWORD, ip="10.2.2.3")  # by name, any address
    assert response.status_code == 429
    assert "Terlalu banyak percobaan" in text_of(response)


def test_a_post_without_csrf_token_is_refused(site, staff):
    client = site["app"].test_client()
    response = client.post("/login", data={"name": STAFF, "password": PASSWORD})
    assert response.status_code == 400
    assert staff.post("/logout").status_code == 400
    assert staff.post("/logout", data={"csrf_token": "wrong"}).status_code == 400


@pytest.mark.parametrize(
    "path", ["/", f"/agencies/{OWN}", "/digest", "/digest/2026-01-01", "/nope"]
)
def test_every_page_needs_a_session(site, path):
    response = site["app"].test_client().get(path + "?x=1")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/")


def test_next_goes_only_to_a_path_on_this_site(site):
    client = site["app"].test_client()
    page = text_of(client.get("/login?next=//evil.example/x"))
    response = client.post(
        "/login",
        data={
            "name": AGENCY,
            "password": PASSWORD,
            "csrf_token": csrf(page),
            "next": "https://evil.example/",
        },
        headers={"X-Forwarded-For": "10.3.3.3"},
    )
    assert response.headers["Location"] == "/"


def test_a_login_lasts_session_hours_from_login_and_unknown_pages_are_404(site):
    client, _ = login(site["app"], AGENCY, ip="10.6.6.6")
    assert client.get("/nope").status_code == 404
    with client.session_transaction() as session:
        session["t"] -= site["config"].web.session_hours * 3600
    assert client.get(f"/agencies/{OWN}").status_code == 302


def test_logout_ends_the_session(site):
    client, _ = login(site["app"], AGENCY, ip="10.4.4.4")
    page = text_of(client.get(f"/agencies/{OWN}"))
    assert client.post("/logout", data={"csrf_token": csrf(page)}).status_code == 302
    assert client.get(f"/agencies/{OWN}").status_code == 302


# --- who sees what ------------------------------------------------------------------


def test_staff_sees_every_page(staff):
    overview = text_of(staff.get("/"))
    assert f'href="/agencies/{OWN}"' in overview and f'href="/agencies/{OTHER}"' in overview
    for path in (f"/agencies/{OWN}", f"/agencies/{OTHER}", "/agencies/tidak-teridentifikasi"):
        assert staff.get(path).status_code == 200, path
    assert staff.get("/agencies/no-such-agency").status_code == 404
    digest = staff.get("/digest")
    assert digest.status_code == 200 and "Ringkasan" in text_of(digest)
    assert "'unsafe-inline'" in digest.headers["Content-Security-Policy"]
    assert "script-src 'self'" in digest.headers["Content-Security-Policy"]
    day = (utc_now() - timedelta(days=2)).date().isoformat()
    assert staff.get(f"/digest/{day}").status_code == 200
    assert staff.get("/digest/2026-13-45").status_code == 404


def test_agency_user_sees_only_its_agency(agency):
    response = agency.get("/")
    assert response.status_code == 302 and response.headers["Location"] == f"/agencies/{OWN}"
    page = agency.get(f"/agencies/{OWN}")
    assert page.status_code == 200 and "Semua instansi" not in text_of(page)
    for path in (
        f"/agencies/{OTHER}",
        "/agencies/tidak-teridentifikasi",
        "/agencies/no-such-agency",
        "/digest",
        "/digest/2026-01-01",
        f"/api/agencies/{OTHER}/trend",
        f"/api/agencies/{OTHER}/trend?format=csv",
        f"/api/agencies/{OTHER}/complaints",
    ):
        response = agency.get(path)
        assert response.status_code == 403, path
        assert "Akses ditolak" in text_of(response) or "tidak berhak" in text_of(response)
    assert agency.get(f"/api/agencies/{OWN}/trend?format=csv").status_code == 200


def test_a_disabled_user_is_signed_out_at_once(site):
    client, _ = login(site["app"], "petugas.nonaktif", ip="10.5.5.5")  # unknown: fails
    with Store.open(site["config"].database) as store:
        add_user(store, "petugas.nonaktif", "agency", PASSWORD, OWN, [OWN])
    client, _ = login(site["app"], "petugas.nonaktif", ip="10.5.5.6")
    assert client.get(f"/agencies/{OWN}").status_code == 200
    with Store.open(site["config"].database) as store:
        disable_user(store, "petugas.nonaktif")
    assert client.get(f"/agencies/{OWN}").status_code == 302


# --- the API ------------------------------------------------------------------------


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_api_with_tokens_follows_the_same_rules(site):
    client = site["app"].test_client()
    staff_token, agency_token = site["tokens"][STAFF], site["tokens"][AGENCY]
    for agency_id in (OWN, OTHER):
        for kind in ("trend", "trend?format=csv", "complaints"):
            url = f"/api/agencies/{agency_id}/{kind}"
            assert client.get(url, headers=bearer(staff_token)).status_code == 200, url
            expected = 200 if agency_id == OWN else 403
            response = client.get(url, headers=bearer(agency_token))
            assert response.status_code == expected, url
    forbidden = client.get(f"/api/agencies/{OTHER}/trend", headers=bearer(agency_token))
    assert forbidden.is_json and "tidak berhak" in forbidden.get_json()["message"]
    missing = client.get("/api/agencies/no-such/trend", headers=bearer(staff_token))
    assert missing.status_code == 404 and missing.is_json


def test_api_refuses_no_bad_or_revoked_tokens(site):
    client = site["app"].test_client()
    url = f"/api/agencies/{OWN}/trend"
    with Store.open(site["config"].database) as store:
        revoked = new_token(store, SPARE)
        revoke_tokens(store, SPARE)
    for headers in ({}, bearer("mon_not-a-token"), bearer(revoked), {"Authorization": "Basic x"}):
        response = client.get(url, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        message = response.get_json()["message"]
        assert "token" in message and "Perlu" in message and "needed" in message


def test_csv_equals_monitor_trend_csv(site, capsys):
    from monitor.cli import main

    response = (
        site["app"]
        .test_client()
        .get(f"/api/agencies/{OWN}/trend?format=csv", headers=bearer(site["tokens"][STAFF]))
    )
    assert response.mimetype == "text/csv"
    assert (
        main(["--config", str(site["path"]), "-q", "trend", "--agency", OWN, "--format", "csv"])
        == 0
    )
    assert text_of(response) == capsys.readouterr().out
    assert text_of(response).count("\n") == 13  # header and 12 weeks


def test_complaints_api_gives_redacted_text_local_times_and_case_sizes(site):
    response = (
        site["app"]
        .test_client()
        .get(f"/api/agencies/{OWN}/complaints", headers=bearer(site["tokens"][AGENCY]))
    )
    data = response.get_json()
    items = data["complaints"]
    assert len(items) == 3
    assert all(item["created_at"].endswith("+08:00") for item in items)
    assert all(item["case_size"] >= 1 and item["url"].startswith("https://") for item in items)
    assert NIK not in json.dumps(data) and any("[NIK]" in item["text"] for item in items)


# --- what a page shows ----------------------------------------------------------------


def test_pages_escape_html_and_show_personal_data_only_redacted(staff):
    page = text_of(staff.get(f"/agencies/{OWN}"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page
    assert NIK not in page and "[NIK]" in page
    assert 'href="/api/agencies/disdukcapil-kota-kupang/trend?format=csv"' in page
    for path in ("/", "/digest"):
        html = text_of(staff.get(path))
        assert "<script" not in html and NIK not in html, path


def test_the_session_may_call_the_api_for_the_download_links(staff):
    assert staff.get(f"/api/agencies/{OTHER}/trend").is_json


# --- monitor serve ------------------------------------------------------------------


def test_monitor_serve_answers_over_http(site):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "monitor",
            "--config",
            str(site["path"]),
            "serve",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read().decode()
                assert time.monotonic() < deadline, "monitor serve did not answer"
                time.sleep(0.1)
        assert response.status_code == 200 and 'type="password"' in response.text
        assert "Content-Security-Policy" in response.headers
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=10)
    assert f"127.0.0.1:{port}" in out.decode()
    assert process.returncode == 0
