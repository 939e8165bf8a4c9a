"""The web app in a real browser: Debian's Chromium driven by Playwright.

``monitor serve`` runs in a subprocess over the demo database (``monitor demo``) with
two users; Chromium signs in by typing, presses Enter, follows links and submits the
forms the way a person does. Staff see the overview and an agency page, review five
posts from the keyboard and forward a case; the agency user sees only its agency
(another's page is the 403 page) and answers the case; staff then see its status.

Needs ``/usr/bin/chromium`` (``apt install chromium``) and the ``playwright`` package;
Playwright's own browser download (``playwright install``) is never used. With
``MONITOR_BROWSER_SCREENSHOTS=docs/screenshots`` every page visited is also saved at
390 and 1200 px as ``browser-<page>-<width>.png`` in that folder.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's Chromium at /usr/bin/chromium (apt install chromium)",
)
playwright_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
expect = playwright_api.expect
# Pages are built on request (the overview builds every agency's trend): on a busy
# machine that takes seconds, so waits get more room than Playwright's 5 s default.
expect.set_options(timeout=15_000)

PASSWORD = "kata-sandi-panjang-sekali"
STAFF, AGENCY_USER = "maria.asisten", "budi.rsud"
OWN, OTHER = "rsud-sk-lerik", "disdukcapil-kota-kupang"
OWN_NAME = "RSUD S.K. Lerik"
WIDTHS = (1200, 390)
REVIEWED = 5
ANSWER = "Sudah kami tindak lanjuti: jadwal dokter poli ditambah mulai Senin."


def _add_users(config: Path) -> None:
    """Both users at once, the way an operator makes them (password on stdin)."""
    users = {
        STAFF: ("--role", "ombudsman"),
        AGENCY_USER: ("--role", "agency", "--agency", OWN),
    }
    running = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "monitor",
                "-q",
                "--config",
                str(config),
                "users",
                "add",
                name,
                *role,
                "--password-stdin",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, role in users.items()
    ]
    for process in running:
        _, error = process.communicate(PASSWORD + "\n", timeout=60)
        assert process.returncode == 0, error


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    """``monitor serve`` on a free 127.0.0.1 port over the demo; yields its base URL."""
    folder = tmp_path_factory.mktemp("browser")
    subprocess.run(
        [sys.executable, "-m", "monitor", "-q", "demo"], cwd=folder, check=True, capture_output=True
    )
    config = folder / "monitor-demo" / "monitor.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("secure_cookies = true", "secure_cookies = false"), "utf-8")
    _add_users(config)
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        # The line is printed once the socket listens: no polling, no sleeping.
        line = process.stdout.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
        assert found, f"monitor serve said: {line!r}"
        yield found[1]
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def shots() -> Path | None:
    """Where screenshots go: only when asked for (they take seconds of the budget)."""
    named = os.environ.get("MONITOR_BROWSER_SCREENSHOTS")
    if not named:
        return None
    folder = Path(named)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(browser, server, shots):
    context = browser.new_context(base_url=server, viewport={"width": WIDTHS[0], "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.shots = shots  # type: ignore[attr-defined]
    yield page
    context.close()


def shoot(page, name: str) -> None:
    """The page as it is now at 1200 and 390 px wide, whole page (when asked for)."""
    if page.shots is None:
        return
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(page.shots / f"browser-{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})


def log_in(page, name: str) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("Nama pengguna").press_sequentially(name)
    page.get_by_label("Kata sandi").press_sequentially(PASSWORD)
    page.get_by_label("Kata sandi").press("Enter")
    expect(page.locator(".topbar .who")).to_have_text(name)


def log_out(page) -> None:
    page.get_by_role("button", name="Keluar").click()
    expect(page.get_by_role("heading", name="Masuk")).to_be_visible()
    expect(page.locator(".topbar .who")).to_have_count(0)


def test_staff_see_every_agency_and_sign_out(page):
    page.goto("/")
    expect(page.get_by_role("heading", name="Masuk")).to_be_visible()
    shoot(page, "login")
    log_in(page, STAFF)
    expect(page.get_by_role("link", name="Semua instansi")).to_have_attribute(
        "aria-current", "page"
    )
    shoot(page, "overview")
    page.get_by_role("link", name=OWN_NAME, exact=True).first.click()
    expect(page).to_have_url(re.compile(f"/agencies/{OWN}$"))
    expect(page.get_by_role("heading", name="Menurut komponen standar pelayanan")).to_be_visible()
    expect(page.locator("#angka-per-minggu tbody tr").first).to_be_visible()
    shoot(page, "agency")
    page.set_viewport_size({"width": 390, "height": 900})  # the counts stay on a phone
    expect(page.locator('#komponen-standar tr[data-component="waktu"] td').first).to_be_visible()
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})
    log_out(page)
    page.goto(f"/agencies/{OWN}")
    expect(page).to_have_url(re.compile(r"/login"))  # signed out means signed out


def test_an_agency_user_sees_only_its_own_agency(page):
    log_in(page, AGENCY_USER)
    expect(page).to_have_url(re.compile(f"/agencies/{OWN}$"))
    expect(page.get_by_role("heading", name=OWN_NAME, level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Semua instansi")).to_have_count(0)
    response = page.goto(f"/agencies/{OTHER}")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Akses ditolak")).to_be_visible()
    shoot(page, "403")
    response = page.goto("/")
    expect(page).to_have_url(re.compile(f"/agencies/{OWN}$"))
    log_out(page)


def _review_one(page, how: str) -> None:
    """Label the post on screen from the keyboard; waits for the page to confirm it.

    Chromium does not run access keys (Alt+letter) for keys sent by a test driver, so
    the access keys are checked as attributes and the keys pressed are review.js's
    single letters and plain Tab, Space and Enter."""
    # The letters are review.js's: wait until the page (and its deferred script) loaded.
    page.wait_for_load_state("load")
    post_id = page.locator('input[name="post_id"]').get_attribute("value")
    if how == "benar":  # b: "Benar", the model's answers as they are
        page.locator("body").press("b")
    elif how == "simpan":  # n: not a complaint, s: "Simpan"
        page.keyboard.press("n")
        expect(page.locator('input[name="is_complaint"][value="0"]')).to_be_checked()
        page.keyboard.press("s")
    elif how == "enter":  # y focuses "pengaduan"; Enter submits the form (Simpan)
        page.keyboard.press("y")
        expect(page.locator('input[name="is_complaint"][value="1"]')).to_be_focused()
        page.keyboard.press("Enter")
    else:  # Tab to the sector, the agency, the first topic; Space ticks it; Tab to Simpan
        page.keyboard.press("y")
        for _ in range(3):
            page.keyboard.press("Tab")
        expect(page.locator('input[name="topics"]').first).to_be_focused()
        page.keyboard.press("Space")
        expect(page.locator('input[name="topics"]').first).to_be_checked()
        for _ in range(page.locator('input[name="topics"]').count()):
            page.keyboard.press("Tab")
        expect(page.locator("#review-save")).to_be_focused()
        page.keyboard.press("Enter")
    expect(page.locator(".review-flash")).to_contain_text(f"Label pos {post_id} tersimpan")


def test_review_forward_answer_and_status(page):
    log_in(page, STAFF)
    page.get_by_role("link", name="Tinjau").click()
    expect(page.get_by_role("heading", name="Tinjau label")).to_be_visible()
    for key, button in (("s", "#review-save"), ("b", "#review-right"), ("l", "#review-skip")):
        expect(page.locator(button)).to_have_attribute("accesskey", key)
    shoot(page, "review")
    for how in ("benar", "simpan", "enter", "tab", "benar"):
        _review_one(page, how)
    expect(page.locator(".review-recent li")).to_have_count(REVIEWED)
    shoot(page, "review-done")

    page.get_by_role("link", name="Kasus").click()
    expect(page.get_by_role("heading", name="Kasus yang diteruskan")).to_be_visible()
    page.get_by_label("Instansi").select_option(OWN)
    page.get_by_role("button", name="Tampilkan").click()
    expect(page).to_have_url(re.compile(f"/cases\\?.*agency={OWN}"))
    first = page.locator("section#teruskan article.case-item, [aria-labelledby=teruskan] article")
    first = first.first
    case_link = first.get_by_role("link", name=re.compile(r"Kasus #\d+"))
    case_name = case_link.inner_text()
    first.get_by_label("Catatan untuk instansi").fill("Mohon ditindaklanjuti.")
    first.get_by_role("button", name="Teruskan ke instansi").click()
    expect(page.get_by_role("status")).to_contain_text(f"{case_name} diteruskan ke")
    shoot(page, "cases-staff")
    log_out(page)

    log_in(page, AGENCY_USER)
    page.get_by_role("link", name="Kasus").click()
    expect(page.get_by_role("heading", name="Kasus dari Ombudsman")).to_be_visible()
    page.get_by_role("link", name=case_name).click()
    expect(page.get_by_role("heading", name=case_name)).to_be_visible()
    page.get_by_label("Tanggapan instansi").fill(ANSWER)
    page.get_by_role("radio", name=re.compile("Selesai")).check()
    page.get_by_role("button", name="Kirim tanggapan").click()
    expect(page.get_by_role("status")).to_have_text("Tanggapan tersimpan.")
    shoot(page, "case-agency")
    log_out(page)

    log_in(page, STAFF)
    page.get_by_role("link", name="Kasus").click()
    expect(page.get_by_role("heading", name="Kasus yang diteruskan")).to_be_visible()
    item = page.locator("article.case-item").filter(has_text=case_name)
    expect(item.locator(".status")).to_have_text("Selesai")
    expect(item).to_contain_text(ANSWER)
    shoot(page, "cases-status")
    log_out(page)
