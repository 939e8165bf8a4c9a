"""Screenshots of the web app at phone (390 px) and desktop (1200 px) width.

Builds the demo (``monitor demo``) in a temporary folder, makes two users, renders
/login, the staff overview, an agency page, the digest and the review queue (after one
label) through Flask's test client (signed in), writes each page to a file with the
app's two stylesheets inlined (a headless browser cannot sign in), and screenshots the
files with headless Chromium:

    python scripts/web_screenshots.py [--out docs/screenshots] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

PASSWORD = "kata-sandi-panjang-sekali"
PAGES = {
    "login": (None, "/login", 800),
    "overview": ("maria.asisten", "/", 1500),
    "agency": ("maria.asisten", "/agencies/rsud-sk-lerik", 1500),
    "digest": ("maria.asisten", "/digest", 1500),
    "review": ("maria.asisten", "/review", 1800),
    # cases forwarded to an agency ({answered} and {open}: see forward_demo_cases)
    "cases-staff-list": ("maria.asisten", "/cases?agency=rsud-sk-lerik", 1800),
    "cases-staff-case": ("maria.asisten", "/cases/{answered}", 1300),
    "cases-agency-list": ("budi.rsud", "/cases", 1000),
    "cases-agency-case": ("budi.rsud", "/cases/{open}", 1400),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screenshots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        subprocess.run(["monitor", "-q", "demo"], cwd=folder, check=True, capture_output=True)
        for name, html in render_pages(folder / "monitor-demo" / "monitor.toml").items():
            page = folder / f"{name}.html"
            page.write_text(html, encoding="utf-8")
            for width in (390, 1200):
                target = out / f"web-{name}-{width}.png"
                subprocess.run(
                    [
                        args.chromium,
                        "--headless",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--hide-scrollbars",
                        f"--window-size={width},{PAGES[name][2]}",
                        f"--screenshot={target}",
                        page.as_uri(),
                    ],
                    check=True,
                    capture_output=True,
                    timeout=120,
                )
                print(target)


def render_pages(config_path: Path) -> dict[str, str]:
    from monitor.accounts import add_user
    from monitor.config import load_config
    from monitor.store import Store
    from monitor.web import create_app

    config = load_config(config_path)
    config.web.secure_cookies = False
    with Store.open(config.database) as store:
        add_user(store, "maria.asisten", "ombudsman", PASSWORD)
        cases = forward_demo_cases(store, [a.id for a in config.agencies])
    app = create_app(config, secret_key=b"screenshots-only" * 2)
    anonymous = app.test_client()
    css = "".join(
        anonymous.get(path).get_data(as_text=True)
        for path in ("/static/page.css", "/static/web.css")
    )
    clients = {None: anonymous}
    pages = {}
    for name, (user, path, _) in PAGES.items():
        path = path.format(**cases)
        if user not in clients:
            client = app.test_client()
            form = client.get("/login").get_data(as_text=True)
            token = re.search(r'name="csrf_token" value="([^"]+)"', form)
            assert token is not None
            client.post("/login", data={"name": user, "password": PASSWORD, "csrf_token": token[1]})
            clients[user] = client
        if name == "review":  # one label first, so "Label terakhir Anda" shows one
            form = clients[user].get(path).get_data(as_text=True)
            fields = dict(re.findall(r'name="(csrf_token|post_id)" value="([^"]+)"', form))
            clients[user].post(path, data={**fields, "action": "benar"})
        html = clients[user].get(path).get_data(as_text=True)
        html = re.sub(r'<link rel="stylesheet"[^>]*>\n', "", html)
        pages[name] = html.replace("</head>", f"<style>{css}</style>\n</head>")
    return pages


def forward_demo_cases(store: Any, agency_ids: list[str]) -> dict[str, int]:
    """An agency user (budi.rsud) and two of its agency's cases forwarded: one answered."""
    from monitor.accounts import add_user
    from monitor.classify import model_version
    from monitor.clock import to_iso, utc_now

    agency = "rsud-sk-lerik"
    add_user(store, "budi.rsud", "agency", PASSWORD, agency, agency_ids)
    rows = store.latest_complaints(agency, model_version(store=store), 2)
    answered, still_open = rows[0]["id"], rows[-1]["id"]
    now = to_iso(utc_now())
    note = "Mohon dicek dan ditindaklanjuti; kabari kami dalam 7 hari."
    for case_id in (still_open, answered):
        store.forward_case(case_id, agency, "maria.asisten", now, note)
    forward = store.case_forward(answered, agency)
    text = "Sudah kami hubungi pelapor. Jadwal dokter poli diperbaiki mulai Senin."
    store.answer_forward(forward.id, "ditanggapi", text, "budi.rsud", now)
    return {"answered": answered, "open": still_open}


if __name__ == "__main__":
    main()
