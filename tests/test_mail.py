"""The digest by e-mail, against a real local SMTP server (aiosmtpd) and a real SQLite outbox."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import logging
import re
import shutil
import smtplib
import socket
import ssl
import struct
import subprocess
import zlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from monitor.report.mail_message import build_message, queue_digest
from monitor.report.mail_send import mail_due, send_pending
from monitor.store import Store

DAY = date(2026, 11, 21)
SENDER = "Monitor Ombudsman NTT <monitor@ntt.ombudsman.test>"
STAFF = ["asisten@ntt.ombudsman.test", "kepala@ntt.ombudsman.test"]
SUBJECT = "Ringkasan harian pengaduan — Sabtu, 21 November 2026"
TEXT = (
    "Pengaduan hari ini: 12 (rata-rata 7 hari: 4,0 → naik 3×).\n"
    "Disdukcapil Kota Kupang: “beta su antre dari pagi, sonde dilayani” — antrean KTP-el.\n"
)
HTML = (
    "<html><body><h1>Ringkasan harian — Sabtu, 21 November 2026</h1>"
    "<p>Pengaduan hari ini: <b>12</b> (naik 3×). “beta su antre dari pagi”</p>"
    '<img src="cid:chart-complaints" alt="Pengaduan per hari">'
    '<img src="cid:chart-agencies" alt="Instansi"></body></html>'
)
ALL_STATUSES = ("pending", "sending", "sent", "unconfirmed")


def tiny_png(shade: int) -> bytes:
    """A valid 1×1 grey PNG; the shade makes two images differ."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes([0, shade])))
        + chunk(b"IEND", b"")
    )


IMAGES = {"chart-complaints": tiny_png(10), "chart-agencies": tiny_png(200)}


# --- a real SMTP server on 127.0.0.1 -----------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    tls: bool
    authenticated: bool


@dataclass
class Recorder:
    """aiosmtpd handler: keeps every accepted message; can refuse or stall on purpose."""

    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    data_delay: float = 0.0  # seconds between taking a message and saying so

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                content=envelope.original_content,
                tls=session.ssl is not None,
                authenticated=bool(session.authenticated),
            )
        )
        if self.data_delay:  # queued, but the reply comes late (e.g. slow content checks)
            await asyncio.sleep(self.data_delay)
        return "250 2.0.0 accepted"


@dataclass
class Server:
    handler: Recorder
    port: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    """Start a real aiosmtpd server: ``smtp_server(port=None, **aiosmtpd_options)``."""
    controllers: list[Controller] = []

    def start(port: int | None = None, **options) -> Server:
        handler = Recorder()
        controller = Controller(
            handler,
            hostname="127.0.0.1",
            port=port or free_port(),
            server_hostname="mail.test",
            **options,
        )
        controller.start()
        controllers.append(controller)
        return Server(handler, controller.port)

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def db(tmp_path: Path):
    with Store.open(tmp_path / "t.db") as store:
        yield store


def use_server(config, port: int, **smtp) -> None:
    config.digest.recipients = list(STAFF)
    settings = config.digest.smtp
    settings.host = "127.0.0.1"
    settings.port = port
    settings.starttls = False
    settings.username_env = ""
    settings.password_env = ""
    settings.sender = SENDER
    for key, value in smtp.items():
        setattr(settings, key, value)


def queue(store: Store, scope: str = "all", recipients=None, subject: str = SUBJECT) -> bool:
    return queue_digest(
        store, DAY, scope, recipients or list(STAFF), subject, HTML, TEXT, IMAGES, SENDER
    )


def statuses(store: Store) -> list[tuple[str, str, int]]:
    return [(row["scope"], row["status"], row["attempts"]) for row in store.outbox(ALL_STATUSES)]


def send(config, store: Store, **options):
    options.setdefault("environ", {})
    options.setdefault("timeout", 5)
    return send_pending(config, store, **options)


# --- the message -------------------------------------------------------------------------


def test_queued_digest_is_received_once_with_text_html_and_inline_images(config, db, smtp_server):
    server = smtp_server()
    use_server(config, server.port)
    assert queue(db)

    report = send(config, db)

    assert (report.sent, report.failed, report.unconfirmed, report.errors) == (1, 0, 0, [])
    assert [row[:2] for row in statuses(db)] == [("all", "sent")]
    [mail] = server.handler.received
    assert mail.mail_from == "monitor@ntt.ombudsman.test"
    assert mail.rcpt_tos == STAFF
    assert max(mail.content) < 128  # 7-bit clean for any server

    message = email.message_from_bytes(mail.content, policy=email.policy.default)
    assert message["Message-ID"] == "<digest-2026-11-21-all@ntt.ombudsman.test>"
    assert message["Date"]
    assert message["Subject"] == SUBJECT
    assert message["To"].addresses[1].addr_spec == STAFF[1]
    assert message.get_content_type() == "multipart/alternative"
    plain, related = list(message.iter_parts())
    assert plain.get_content_type() == "text/plain"
    assert plain.get_content_charset() == "utf-8"
    assert plain.get_content().replace("\r\n", "\n") == TEXT  # CRLF on the wire
    assert related.get_content_type() == "multipart/related"
    html_part, *image_parts = list(related.iter_parts())
    assert html_part.get_content_type() == "text/html"
    html = html_part.get_content().replace("\r\n", "\n")
    assert html.rstrip("\n") == HTML
    assert "“beta su antre dari pagi”" in html
    referenced = set(re.findall(r'src="cid:([^"]+)"', html))
    content_ids = {}
    for part in image_parts:
        assert part.get_content_type() == "image/png"
        assert part.get_content_disposition() == "inline"
        content_ids[part["Content-ID"].strip("<>")] = part.get_content()
    assert set(content_ids) == referenced == set(IMAGES)
    assert content_ids == IMAGES

    assert send(config, db).sent == 0
    assert len(server.handler.received) == 1


def test_build_message_checks_its_inputs():
    with pytest.raises(ValueError, match="digest.smtp.sender"):
        build_message(SUBJECT, "", STAFF, HTML, TEXT, {}, "<x@monitor>")
    with pytest.raises(ValueError, match="Content-ID"):
        build_message(SUBJECT, SENDER, STAFF, HTML, TEXT, {"bad name>": b""}, "<x@monitor>")
    plain = build_message(SUBJECT, SENDER, STAFF, HTML, TEXT, {}, "digest-x@monitor")
    assert plain["Message-ID"] == "<digest-x@monitor>"
    assert [p.get_content_type() for p in plain.iter_parts()] == ["text/plain", "text/html"]


def test_mail_due(config):
    assert not mail_due(config)  # the example has no recipients and no host
    config.digest.smtp.host = "mail.test"
    assert not mail_due(config)
    config.digest.agency_recipients = {"rsud-wz-johannes": ["humas@rsud.test"]}
    assert mail_due(config)
    config.digest.agency_recipients = {}
    config.digest.recipients = STAFF
    assert mail_due(config)


# --- the outbox --------------------------------------------------------------------------


def test_queuing_the_same_day_and_scope_twice_sends_one_mail_over_one_connection(
    config, db, smtp_server
):
    server = smtp_server()
    use_server(config, server.port)
    assert queue(db)
    assert not queue(db, subject="a second rendering of the same day")
    assert queue(db, scope="rsud-wz-johannes", recipients=["humas@rsud.test"])
    connections = []

    def counting_factory(*args, **kwargs):
        connections.append(args)
        return smtplib.SMTP(*args, **kwargs)

    report = send(config, db, smtp_factory=counting_factory)

    assert report.sent == 2
    assert len(connections) == 1
    assert [mail.rcpt_tos for mail in server.handler.received] == [STAFF, ["humas@rsud.test"]]
    first = email.message_from_bytes(
        server.handler.received[0].content, policy=email.policy.default
    )
    assert first["Subject"] == SUBJECT
    assert statuses(db) == [("all", "sent", 1), ("rsud-wz-johannes", "sent", 1)]


def test_server_down_keeps_mail_pending_then_sends_it_exactly_once(config, db, smtp_server):
    port = free_port()  # nothing listens here yet
    use_server(config, port)
    queue(db)
    queue(db, scope="rsud-wz-johannes", recipients=["humas@rsud.test"])

    down = send(config, db)

    assert (down.sent, down.failed, down.unconfirmed) == (0, 2, 0)
    assert "cannot reach mail server 127.0.0.1" in down.errors[0]
    rows = db.outbox(ALL_STATUSES)
    assert [row["status"] for row in rows] == ["pending", "pending"]
    assert all("cannot reach mail server" in row["last_error"] for row in rows)

    server = smtp_server(port=port)
    up = send(config, db)
    assert (up.sent, up.failed, up.errors) == (2, 0, [])
    assert len(server.handler.received) == 2

    again = send(config, db)
    assert (again.sent, again.failed, again.errors) == (0, 0, [])
    assert len(server.handler.received) == 2
    assert [row[1] for row in statuses(db)] == ["sent", "sent"]


def test_nothing_pending_opens_no_connection(config, db):
    use_server(config, free_port())

    def no_connection(*args, **kwargs):
        raise AssertionError("connected with nothing to send")

    report = send(config, db, smtp_factory=no_connection)
    assert (report.sent, report.failed, report.errors) == (0, 0, [])


def test_a_row_left_sending_by_a_killed_run_is_unconfirmed_and_not_resent(config, db, smtp_server):
    server = smtp_server()
    use_server(config, server.port)
    queue(db)
    queue(db, scope="rsud-wz-johannes", recipients=["humas@rsud.test"])
    [killed, _] = db.outbox()
    db.set_mail_status(killed["id"], "sending")  # the run died here

    report = send(config, db)

    assert (report.sent, report.unconfirmed) == (1, 1)
    assert "not sent again automatically" in report.errors[0]
    assert [mail.rcpt_tos for mail in server.handler.received] == [["humas@rsud.test"]]
    [unconfirmed] = db.outbox(("unconfirmed",))
    assert unconfirmed["scope"] == "all"
    assert "may or may not have been delivered" in unconfirmed["last_error"]

    assert send(config, db).unconfirmed == 0  # reported once, then left for a person
    assert len(server.handler.received) == 1


def test_a_refused_mail_stays_pending_and_the_others_still_go(config, db, smtp_server):
    server = smtp_server()
    server.handler.refuse = {"salah@rsud.test"}
    use_server(config, server.port)
    queue(db, scope="rsud-wz-johannes", recipients=["salah@rsud.test"])
    queue(db)

    report = send(config, db)

    assert (report.sent, report.failed) == (1, 1)
    assert statuses(db) == [("rsud-wz-johannes", "pending", 1), ("all", "sent", 1)]
    [refused] = db.outbox(("pending",))
    assert "550" in refused["last_error"] and "salah@rsud.test" in refused["last_error"]
    assert [mail.rcpt_tos for mail in server.handler.received] == [STAFF]


def test_a_connection_lost_while_sending_is_unconfirmed_because_the_server_may_have_it(
    config, db, smtp_server
):
    server = smtp_server()
    server.handler.data_delay = 0.4  # answers after the client gave up
    use_server(config, server.port)
    queue(db)
    queue(db, scope="rsud-wz-johannes", recipients=["humas@rsud.test"])

    report = send(config, db, timeout=0.15)

    assert (report.sent, report.failed, report.unconfirmed) == (0, 1, 1)
    assert statuses(db) == [("all", "unconfirmed", 1), ("rsud-wz-johannes", "pending", 0)]
    server.handler.data_delay = 0
    later = send(config, db)
    assert later.sent == 1
    # The server did take the first one: resending it would have made a duplicate.
    assert sorted(len(mail.rcpt_tos) for mail in server.handler.received) == [1, 2]


# --- a person resends (or drops) an unconfirmed digest: `monitor outbox` ----------------


def mail_config_file(tmp_path: Path, port: int) -> Path:
    """The shipped example config, mailing STAFF through the test server on ``port``."""
    from monitor.config import example_config_text

    text = example_config_text()
    for old, new in (
        ("recipients = []", "recipients = " + json.dumps(STAFF)),
        ('host = ""', 'host = "127.0.0.1"'),
        ("port = 587", f"port = {port}"),
        ("starttls = true", "starttls = false"),
        ('username_env = "MONITOR_SMTP_USER"', 'username_env = ""'),
        ('password_env = "MONITOR_SMTP_PASSWORD"', 'password_env = ""'),
        ('sender = "monitor@example.org"', f'sender = "{SENDER}"'),
    ):
        assert old in text, old
        text = text.replace(old, new, 1)
    # one enabled source (the bundled demo posts), so doctor judges the outbox alone
    text += '\n[[sources]]\nname = "demo"\ntype = "replay"\n'
    path = tmp_path / "monitor.toml"
    path.write_text(text, encoding="utf-8")
    return path


def copies(server: Server, scope: str = "all") -> int:
    """How many copies of DAY's digest for ``scope`` the server has taken."""
    wanted = f"<digest-{DAY.isoformat()}-{scope}@ntt.ombudsman.test>"
    return sum(
        email.message_from_bytes(mail.content, policy=email.policy.default)["Message-ID"] == wanted
        for mail in server.handler.received
    )


def test_an_unconfirmed_digest_is_resent_once_with_the_command_doctor_names(
    smtp_server, tmp_path, capsys
):
    from monitor.cli import main
    from monitor.config import load_config

    server = smtp_server()
    path = mail_config_file(tmp_path, server.port)
    config = load_config(path)
    with Store.open(config.database) as store:
        queue(store)
        [row] = store.outbox()
        store.set_mail_status(row["id"], "sending")  # the run died handing it over
        assert send(config, store).unconfirmed == 1  # the next run: not resent
    assert copies(server) == 0
    capsys.readouterr()

    assert main(["--config", str(path), "doctor"]) == 1
    [outbox] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("outbox")]
    assert "FAIL" in outbox and "2026-11-21 (all)" in outbox
    assert "send it again with 'monitor outbox resend 2026-11-21'" in outbox

    assert main(["--config", str(path), "outbox"]) == 0
    listing = capsys.readouterr().out
    assert re.search(r"2026-11-21\s+all\s+unconfirmed\s+1\s+-", listing)
    assert "'monitor outbox resend 2026-11-21'" in listing

    assert main(["--config", str(path), "outbox", "resend", "2026-11-21"]) == 0
    assert "Resent the digest e-mail 2026-11-21/all" in capsys.readouterr().out
    assert copies(server) == 1
    assert server.handler.received[0].rcpt_tos == STAFF
    with Store.open(config.database) as store:
        row = store.outbox_message("2026-11-21", "all")
        assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 2, "")
        runs = store.db.execute("SELECT command, status FROM runs").fetchall()
        assert runs == [("outbox resend", "ok")]

    assert main(["--config", str(path), "doctor"]) == 0
    capsys.readouterr()
    assert main(["--config", str(path), "run", "-q"]) == 0  # mails yesterday's digest ...
    assert main(["--config", str(path), "run", "-q"]) == 0
    assert copies(server) == 1  # ... but never this one again
    assert len(server.handler.received) == 2
    assert main(["--config", str(path), "outbox", "resend", "2026-11-21"]) == 2
    assert "already sent" in capsys.readouterr().err
    assert copies(server) == 1


def test_resending_a_digest_not_in_the_outbox_exits_2_and_says_what_is_there(
    smtp_server, tmp_path, capsys
):
    from monitor.cli import main
    from monitor.config import load_config

    server = smtp_server()
    path = mail_config_file(tmp_path, server.port)
    assert main(["--config", str(path), "outbox", "resend", "2026-11-21"]) == 2
    assert "no database at" in capsys.readouterr().err
    config = load_config(path)
    assert not config.database.exists()  # not created by a refused resend
    with Store.open(config.database) as store:
        queue(store)

    assert main(["--config", str(path), "outbox", "resend", "2026-11-20"]) == 2
    error = capsys.readouterr().err
    assert "no digest e-mail for 2026-11-20 in the outbox" in error
    assert "'monitor outbox' lists the messages there" in error
    assert main(["--config", str(path), "outbox", "resend", "2026-11-21", "--scope", "x"]) == 2
    assert "with scope 'x' in the outbox; that day has all" in capsys.readouterr().err
    assert main(["--config", str(path), "outbox", "drop", "2026-11-20"]) == 2
    assert "no digest e-mail for 2026-11-20" in capsys.readouterr().err
    assert main(["--config", str(path), "outbox", "resend", "21-11-2026"]) == 2
    assert "not a date YYYY-MM-DD" in capsys.readouterr().err

    assert server.handler.received == []
    with Store.open(config.database) as store:
        assert statuses(store) == [("all", "pending", 0)]
        assert store.db.execute("SELECT count(*) FROM runs").fetchone()[0] == 0


def test_resend_after_a_lost_connection_sends_one_more_copy_and_never_again(
    config, db, smtp_server
):
    from monitor.report.mail import OutboxError, resend, resendable

    server = smtp_server()
    server.handler.data_delay = 0.4  # the server takes it but answers too late
    use_server(config, server.port)
    queue(db)
    assert send(config, db, timeout=0.15).unconfirmed == 1
    server.handler.data_delay = 0
    assert "'monitor outbox resend 2026-11-21'" in db.outbox(("unconfirmed",))[0]["last_error"]
    assert send(config, db).sent == 0  # never automatically
    assert len(server.handler.received) == 1

    row, report = resend(config, db, resendable(config, db, DAY), environ={}, timeout=5)

    assert (row["status"], row["attempts"], report.sent, report.errors) == ("sent", 2, 1, [])
    assert len(server.handler.received) == 2  # the person decided: one more copy
    assert send(config, db).sent == 0
    assert len(server.handler.received) == 2
    with pytest.raises(OutboxError, match="already sent"):
        resendable(config, db, DAY)


def test_a_dropped_digest_is_never_sent_by_a_run_but_can_still_be_resent(config, db, smtp_server):
    from monitor.report.mail import OutboxError, drop, droppable, resend, resendable

    server = smtp_server()
    use_server(config, server.port)
    queue(db)
    [row] = db.outbox()
    db.set_mail_status(row["id"], "sending")  # the run died handing it over
    assert send(config, db).unconfirmed == 1

    dropped = drop(db, droppable(db, DAY))

    assert (
        dropped["status"] == "dropped"
        and "dropped by 'monitor outbox drop" in (dropped["last_error"])
    )
    assert send(config, db).sent == 0
    assert server.handler.received == []
    row, _ = resend(config, db, resendable(config, db, DAY), environ={}, timeout=5)
    assert row["status"] == "sent" and len(server.handler.received) == 1
    with pytest.raises(OutboxError, match="already sent"):
        droppable(db, DAY)


def test_resend_without_a_mail_server_changes_nothing(config, db):
    from monitor.report.mail import OutboxError, resendable

    queue(db)
    [row] = db.outbox()
    db.set_mail_status(row["id"], "unconfirmed")
    with pytest.raises(OutboxError, match="digest.smtp.host is empty"):
        resendable(config, db, DAY)
    assert db.outbox(("unconfirmed",))[0]["attempts"] == 0


# --- credentials -------------------------------------------------------------------------

USER_ENV, PASSWORD_ENV = "MONITOR_TEST_SMTP_USER", "MONITOR_TEST_SMTP_PASSWORD"
USER, PASSWORD = "kupang-monitor", "rahasia-Sangat-9431"


def check_login(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


# Plain-text AUTH is only for these loopback tests; aiosmtpd rightly warns about it.
plain_auth = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def auth_server(smtp_server) -> Server:
    return smtp_server(authenticator=check_login, auth_require_tls=False, auth_required=True)


def assert_password_nowhere(store: Store, caplog, report) -> None:
    assert PASSWORD not in caplog.text
    assert PASSWORD not in repr(report)
    for row in store.outbox(ALL_STATUSES):
        for value in row.values():
            text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            assert PASSWORD not in text


@plain_auth
def test_login_uses_the_credentials_from_the_named_environment_variables(
    config, db, smtp_server, caplog
):
    caplog.set_level(logging.DEBUG)
    server = auth_server(smtp_server)
    use_server(config, server.port, username_env=USER_ENV, password_env=PASSWORD_ENV)
    queue(db)

    report = send(config, db, environ={USER_ENV: USER, PASSWORD_ENV: PASSWORD})

    assert (report.sent, report.errors) == (1, [])
    [mail] = server.handler.received
    assert mail.authenticated
    assert_password_nowhere(db, caplog, report)


@plain_auth
def test_a_wrong_password_keeps_the_mail_pending_and_is_never_logged(
    config, db, smtp_server, caplog
):
    caplog.set_level(logging.DEBUG)
    server = auth_server(smtp_server)
    use_server(config, server.port, username_env=USER_ENV, password_env=PASSWORD_ENV)
    queue(db)
    wrong = "salah-" + PASSWORD

    report = send(config, db, environ={USER_ENV: USER, PASSWORD_ENV: wrong})

    assert (report.sent, report.failed) == (0, 1)
    assert "refused the login" in report.errors[0] and PASSWORD_ENV in report.errors[0]
    assert server.handler.received == []
    assert [row[1] for row in statuses(db)] == ["pending"]
    assert wrong not in caplog.text and wrong not in repr(report)
    assert_password_nowhere(db, caplog, report)


@plain_auth
def test_a_missing_credential_names_the_variable_and_sends_nothing(config, db, smtp_server):
    server = auth_server(smtp_server)
    use_server(config, server.port, username_env=USER_ENV, password_env=PASSWORD_ENV)
    queue(db)

    report = send(config, db, environ={USER_ENV: USER, PASSWORD_ENV: ""})

    assert (report.sent, report.failed) == (0, 1)
    assert f"environment variable {PASSWORD_ENV}" in report.errors[0]
    assert server.handler.received == []
    [row] = db.outbox()
    assert PASSWORD_ENV in row["last_error"]
    assert row["attempts"] == 0  # never handed to the server


@plain_auth
def test_the_password_is_not_sent_unencrypted_to_another_machine(config, db, smtp_server):
    server = auth_server(smtp_server)
    use_server(
        config,
        server.port,
        host="mail.example.org",
        username_env=USER_ENV,
        password_env=PASSWORD_ENV,
    )
    queue(db)

    def to_local_server(host, port, timeout):
        return smtplib.SMTP("127.0.0.1", port, timeout=timeout)

    report = send(
        config,
        db,
        environ={USER_ENV: USER, PASSWORD_ENV: PASSWORD},
        smtp_factory=to_local_server,
    )

    assert report.sent == 0
    assert "refusing to send the SMTP password unencrypted" in report.errors[0]
    assert server.handler.received == []


# --- STARTTLS ----------------------------------------------------------------------------


def _certificate_with_cryptography(cert: Path, key: Path) -> None:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private_key, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made now, offline."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        _certificate_with_cryptography(cert, key)
    except ImportError:
        openssl = shutil.which("openssl")
        if openssl is None:
            pytest.skip("needs the 'cryptography' package or the openssl command")
        subprocess.run(
            [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
            + ["-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1"]
            + ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True,
            capture_output=True,
            timeout=30,
        )
    return cert, key


def tls_server(smtp_server, tls_files, **options) -> Server:
    cert, key = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return smtp_server(tls_context=context, require_starttls=True, **options)


def test_starttls_is_used_and_the_certificate_checked(config, db, smtp_server, tls_files):
    server = tls_server(
        smtp_server, tls_files, authenticator=check_login, auth_required=True
    )  # aiosmtpd's default: AUTH only after STARTTLS
    use_server(config, server.port, starttls=True, username_env=USER_ENV, password_env=PASSWORD_ENV)
    queue(db)
    trusting_the_test_ca = ssl.create_default_context(cafile=str(tls_files[0]))

    report = send(
        config,
        db,
        environ={USER_ENV: USER, PASSWORD_ENV: PASSWORD},
        tls_context=trusting_the_test_ca,
    )

    assert (report.sent, report.errors) == (1, [])
    [mail] = server.handler.received
    assert mail.tls and mail.authenticated


def test_an_untrusted_certificate_is_refused(config, db, smtp_server, tls_files):
    server = tls_server(smtp_server, tls_files)
    use_server(config, server.port, starttls=True)
    queue(db)

    report = send(config, db)  # the system's CAs do not know the test certificate

    assert report.sent == 0 and report.failed == 1
    assert "TLS certificate of 127.0.0.1" in report.errors[0]
    assert server.handler.received == []
    assert [row[1] for row in statuses(db)] == ["pending"]


def test_starttls_configured_but_not_offered_is_a_clear_error(config, db, smtp_server):
    server = smtp_server()
    use_server(config, server.port, starttls=True)
    queue(db)

    report = send(config, db)

    assert report.sent == 0
    assert "does not offer STARTTLS" in report.errors[0]
    assert server.handler.received == []


# --- the digest, end to end through `monitor run` ---------------------------------------


def test_monitor_run_mails_the_digest_and_each_agency_its_part_once(smtp_server, config, tmp_path):
    import json as _json

    from monitor.config import SourceConfig
    from monitor.pipeline import run

    server = smtp_server()
    use_server(config, server.port)
    config.digest.agency_recipients = {"rsud-sk-lerik": ["humas.lerik@example.org"]}
    texts = [
        "Obat di apotek RSUD S.K. Lerik habis lagi, pasien disuruh beli di luar, tolong",
        "Antre apotek RSUD S.K. Lerik dari jam 6 pagi, obat kosong, ini parah sekali",
        "Sudah tiga bulan KTP saya belum jadi di Dukcapil Kota Kupang, tolong diproses",
    ]
    replay = tmp_path / "posts.jsonl"
    replay.write_text(
        "\n".join(
            _json.dumps({"id": f"p{i}", "days_ago": 1, "time": "08:00", "text": t})
            for i, t in enumerate(texts)
        )
        + "\n",
        encoding="utf-8",
    )
    config.sources = [SourceConfig(name="r", type="replay", path=str(replay), region="kota-kupang")]
    report = run(config)
    assert report.errors == []
    received = {tuple(m.rcpt_tos): m for m in server.handler.received}
    assert set(received) == {tuple(STAFF), ("humas.lerik@example.org",)}
    full = email.message_from_bytes(received[tuple(STAFF)].content, policy=email.policy.default)
    part = email.message_from_bytes(
        received[("humas.lerik@example.org",)].content, policy=email.policy.default
    )
    full_html = full.get_body(("html",)).get_content()
    part_html = part.get_body(("html",)).get_content()
    assert "Dukcapil Kota Kupang" in full_html and "RSUD S.K. Lerik" in full_html
    assert "Bagian untuk: <strong>RSUD S.K. Lerik</strong>" in part_html
    assert "Disdukcapil Kota Kupang" not in part_html
    assert 'src="cid:grafik-harian"' in full_html
    assert any(p.get_content_type() == "image/png" for p in full.walk())
    assert part["Subject"].endswith("(RSUD S.K. Lerik)")
    # the next run writes the digest again but sends nothing twice
    run(config)
    assert len(server.handler.received) == 2
