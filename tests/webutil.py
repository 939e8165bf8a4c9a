"""Helpers for the web app's tests: a site (config, pipeline over posts, users) and
signing in through the login form with Flask's test client."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from monitor.accounts import add_user
from monitor.clock import to_iso, utc_now
from monitor.config import Config, example_config_text, load_config
from monitor.store import Store
from tests.test_trend import replay

PASSWORD = "kata-sandi-panjang-sekali"


def make_site(
    folder: Path, texts: list[tuple[int, str]], users: dict[str, tuple[str, str | None]]
) -> tuple[Config, Path]:
    """A config in ``folder`` (plain-HTTP cookies), the pipeline run over ``texts``
    ((hours ago, text)) and ``users`` (name: (role, agency)) made."""
    from monitor.pipeline import run

    path = folder / "monitor.toml"
    text = example_config_text().replace("secure_cookies = true", "secure_cookies = false")
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    now = utc_now()
    posts = [
        {
            "id": f"w{i}",
            "created_at": to_iso(now - timedelta(hours=hours)),
            "text": body,
            "url": f"https://x.com/warga/status/{i}",
        }
        for i, (hours, body) in enumerate(texts, start=1)
    ]
    config.sources = [replay(folder, posts)]
    run(config)
    config.sources = []
    with Store.open(config.database) as store:
        agency_ids = [a.id for a in config.agencies]
        for name, (role, agency) in users.items():
            add_user(store, name, role, PASSWORD, agency, agency_ids)
    return config, path


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, "no CSRF token in the page"
    return found.group(1)


def login(app, name: str, password: str = PASSWORD, ip: str = "10.0.0.1"):
    """(client, response) after posting the login form."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": csrf(page)},
        headers={"X-Forwarded-For": ip},
    )
    return client, response
