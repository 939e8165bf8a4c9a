"""A secret echoed back by a remote API never leaves the process unmasked (issue 13, item 6).

A real X-shaped server on 127.0.0.1 answers 404 with the bearer token in its body,
as some APIs do; a real SMTP server takes the digest. The token must not appear on
stdout, in the database file (run records, outbox), in doctor's report, in the
digest files or in the e-mail.
"""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import load_config
from monitor.secrets import MASK, SecretMask
from monitor.store import Store
from tests.httpserver import Reply
from tests.test_mail import mail_config_file, smtp_server  # noqa: F401 (a fixture)

TOKEN = "AAAAAAAAAAAAAAAAAAAAAN0tAR3alT0ken%2Fwith+odd=chars"
SEARCH = "/2/tweets/search/recent"


def x_failing_config(tmp_path: Path, smtp_port: int, api_url: str) -> Path:
    path = mail_config_file(tmp_path, smtp_port)
    text = path.read_text(encoding="utf-8")
    text += (
        '\n[[sources]]\nname = "x-kupang-test"\ntype = "x"\nregion = "kota-kupang"\n'
        f'queries = ["dukcapil kupang"]\nbase_url = "{api_url}"\n'
        'credentials = { bearer_token = "TEST_ECHO_BEARER" }\n'
    )
    assert "retries = 3 " in text
    path.write_text(text.replace("retries = 3 ", "retries = 0 ", 1), encoding="utf-8")
    return path


def test_a_token_echoed_by_the_api_is_masked_everywhere_it_is_kept_or_shown(
    tmp_path,
    http_server,
    smtp_server,  # noqa: F811
    monkeypatch,
    capsys,
):
    monkeypatch.setenv("TEST_ECHO_BEARER", TOKEN)
    http_server.route(
        "GET",
        SEARCH,
        Reply(
            status=404,
            json={"title": "Not Found", "detail": f"Record not found for Bearer {TOKEN}"},
        ),
    )
    mail = smtp_server()
    path = x_failing_config(tmp_path, mail.port, http_server.url)
    config = load_config(path)

    assert main(["--config", str(path), "run"]) == 1  # a source failed
    shown = capsys.readouterr()
    assert main(["--config", str(path), "doctor"]) == 1
    shown_doctor = capsys.readouterr()
    assert main(["--config", str(path), "outbox"]) == 0
    shown_outbox = capsys.readouterr()

    # The failure itself is reported, with the server's words, the token masked.
    assert "x-kupang-test" in shown.out + shown.err
    assert "Record not found for Bearer ***" in shown.out + shown.err
    assert "x-kupang-test" in shown_doctor.out and "Bearer ***" in shown_doctor.out
    with Store.open(config.database) as store:
        [error] = store.db.execute(
            "SELECT error FROM run_sources WHERE source = 'x-kupang-test'"
        ).fetchone()
    assert error.endswith('"Record not found for Bearer ***"}')

    everywhere = [shown.out, shown.err, shown_doctor.out, shown_doctor.err, shown_outbox.out]
    for file in tmp_path.rglob("*"):
        if file.is_file():
            everywhere.append(file.read_bytes().decode("utf-8", "replace"))
    received = [
        email.message_from_bytes(m.content, policy=email.policy.default)
        for m in mail.handler.received
    ]
    assert received, "the digest e-mail was sent"
    for message in received:
        everywhere += [
            part.get_content() for part in message.walk() if part.get_content_maintype() == "text"
        ]
    digests = [f for f in tmp_path.rglob("*.html")]
    assert digests, "the digest was written"
    assert any("x-kupang-test" in f.read_text(encoding="utf-8") for f in digests)
    for text in everywhere:
        assert TOKEN not in text
        assert TOKEN.replace("%2F", "/") not in text or "%2F" not in TOKEN


def test_rows_kept_before_the_secret_was_configured_are_masked_when_read(tmp_path):
    from monitor.records import SourceRun

    with Store.open(tmp_path / "t.db") as store:  # no secrets known: kept as given
        run_id = store.start_run("run")
        store.record_source_run(run_id, SourceRun("x", error=f"HTTP 404: Bearer {TOKEN}"))
    with Store.open(tmp_path / "t.db", [TOKEN]) as store:
        [health] = store.source_health("")
        assert health.last_error == f"HTTP 404: Bearer {MASK}"


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"token={TOKEN}", f"token={MASK}"),
        (
            "token="
            + TOKEN.replace("%", "%25").replace("+", "%2B").replace("=", "%3D").replace("/", "%2F"),
            None,
        ),
        ("abc", "abc"),  # secrets shorter than four characters mask nothing
    ],
)
def test_secret_mask_masks_the_value_as_written_and_as_url_quoted(text, expected):
    from urllib.parse import quote

    mask = SecretMask([TOKEN, "abc"])
    masked = mask(text)
    if expected is None:
        assert quote(TOKEN, safe="") in text and masked == f"token={MASK}"
    else:
        assert masked == expected
