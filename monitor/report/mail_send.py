"""Handing the outbox's digest e-mails to the mail server: never lost, never twice.

``send_pending`` hands the waiting messages to the SMTP server named in
``[digest.smtp]``.

Never lost: a message stays ``pending`` until the server has accepted it; a failed
attempt records ``last_error`` and is tried again by the next run.

Never twice (at-most-once): a row is marked ``sending`` (committed) just before it is
handed to the server and ``sent`` right after. A row found still ``sending`` at the
start of a run belongs to a run that died mid-send, and a connection lost or timed
out while the message was being handed over leaves the same doubt: the server may
already have taken it. Such rows become ``unconfirmed`` and are NOT sent again
automatically; ``monitor doctor`` lists them for a person to check with the
recipients (``what_to_do``). A clear refusal by the server (a 4xx/5xx reply) is not
in doubt, so that message stays ``pending``.

Secrets: the SMTP user and password come only from the environment variables named
by ``digest.smtp.username_env`` / ``password_env``; errors name the variable, never
its value, and the password is sent only over an encrypted connection (or to a
server on this machine).
"""

from __future__ import annotations

import email.policy
import ipaddress
import json
import logging
import os
import smtplib
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.config import Config, SmtpConfig
from monitor.store import Store

log = logging.getLogger(__name__)

UNCONFIRMED_AFTER_CRASH = (
    "a run stopped while handing this digest to the mail server, so it may or may not "
    "have been delivered; not sent again automatically (at most once). Check with the "
    "recipients"
)


def outbox_command(action: str, day: str, scope: str) -> str:
    """The command a person runs for one message, e.g. 'monitor outbox resend 2026-11-21'."""
    return f"monitor outbox {action} {day}" + ("" if scope == "all" else f" --scope {scope}")


def what_to_do(row: Mapping[str, Any]) -> str:
    """For an unconfirmed message: the exact commands to resend or drop it."""
    return (
        f"if it did not arrive, send it again with "
        f"'{outbox_command('resend', row['day'], row['scope'])}'; if it did, "
        f"'{outbox_command('drop', row['day'], row['scope'])}'"
    )


class MailError(Exception):
    """Mail cannot be sent as configured; the message names the key or variable to fix."""


@dataclass
class SendReport:
    """What one ``send_pending`` call did."""

    sent: int = 0
    failed: int = 0  # still pending, tried again next run (see errors)
    unconfirmed: int = 0  # may or may not have arrived; never resent automatically
    errors: list[str] = field(default_factory=list)


def mail_due(config: Config) -> bool:
    """True when the config asks for digests by e-mail (recipients and a mail server)."""
    digest = config.digest
    has_recipients = bool(digest.recipients) or any(digest.agency_recipients.values())
    return has_recipients and bool(digest.smtp.host)


def send_pending(
    config: Config,
    store: Store,
    environ: Mapping[str, str] = os.environ,
    smtp_factory: Callable[..., smtplib.SMTP] = smtplib.SMTP,
    timeout: float = 30,
    *,
    tls_context: ssl.SSLContext | None = None,
) -> SendReport:
    """Hand every pending outbox message to the mail server; at most once each.

    First, rows still ``sending`` (a run was killed mid-send, so nobody knows whether
    the server took them) become ``unconfirmed`` and are not resent: at-most-once. Then
    each ``pending`` row goes ``sending`` (committed) -> handed over -> ``sent``, all
    over one connection (STARTTLS and login as configured). A refused message goes back
    to ``pending`` with ``last_error`` and the others still go; when the server cannot
    be reached (or the connection fails) the rest stay ``pending`` for the next run. A
    connection lost while a message was being handed over makes it ``unconfirmed``.

    ``tls_context`` verifies the server's certificate for STARTTLS (default: the
    system's trusted CAs with host name checking). Must run under the run lock: two
    senders at once could each send the same pending row.
    """
    report = SendReport()
    for row in store.outbox(("sending",)):
        note = f"{UNCONFIRMED_AFTER_CRASH}: {what_to_do(row)}"
        store.set_mail_status(row["id"], "unconfirmed", note)
        report.unconfirmed += 1
        report.errors.append(f"{outbox_label(row)}: {note}")
        log.warning("%s: %s", outbox_label(row), note)

    pending = store.outbox(("pending",))
    if not pending:
        return report
    smtp = config.digest.smtp
    try:
        if not smtp.host:
            raise MailError(
                f"digest.smtp.host is empty, so {len(pending)} digest e-mail(s) wait in "
                "the outbox; set the mail server in the config"
            )
        credentials = _credentials(smtp, environ)
    except MailError as exc:
        _defer(store, pending, str(exc), report)
        return report

    connection: smtplib.SMTP | None = None
    try:
        for index, row in enumerate(pending):
            if connection is not None and not _alive(connection):
                _close(connection)
                connection = None
            if connection is None:
                try:
                    connection = _connect(smtp, credentials, smtp_factory, timeout, tls_context)
                except (MailError, OSError, smtplib.SMTPException) as exc:
                    _defer(store, pending[index:], _describe_connect_error(exc, smtp), report)
                    return report
            outcome = _send_one(store, connection, row, report)
            if outcome == "connection lost":
                _defer(
                    store,
                    pending[index + 1 :],
                    f"not tried: the connection to {smtp.host}:{smtp.port} was lost",
                    report,
                )
                connection = None  # already closed
                return report
    finally:
        if connection is not None:
            _close(connection)
    return report


def _send_one(
    store: Store, connection: smtplib.SMTP, row: dict[str, Any], report: SendReport
) -> str:
    label = outbox_label(row)
    recipients = json.loads(row["recipients"])
    message = email.message_from_bytes(bytes(row["message"]), policy=email.policy.SMTP)
    store.set_mail_status(row["id"], "sending")
    try:
        refused = connection.send_message(message, to_addrs=recipients)
    except smtplib.SMTPResponseException as exc:
        # The server answered with a refusal: it did not take the message.
        return _refused(store, row, f"refused by the mail server: {_reply(exc)}", report)
    except smtplib.SMTPRecipientsRefused as exc:
        return _refused(store, row, "every recipient refused: " + _replies(exc.recipients), report)
    except smtplib.SMTPNotSupportedError as exc:
        # Checked before anything is sent (e.g. SMTPUTF8 addresses the server cannot take).
        return _refused(store, row, f"the mail server cannot take this message: {exc}", report)
    except (OSError, smtplib.SMTPException) as exc:
        # Lost while handing over: the server may already have the message. No QUIT:
        # it would wait behind the reply that never came.
        connection.close()
        error = (
            f"the connection broke while sending ({type(exc).__name__}: {exc}); the mail "
            "server may or may not have taken it, so it is not sent again automatically. "
            f"Check with the recipients: {what_to_do(row)}"
        )
        store.set_mail_status(row["id"], "unconfirmed", error)
        report.unconfirmed += 1
        report.errors.append(f"{label}: {error}")
        log.warning("%s: %s", label, error)
        return "connection lost"
    note = ""
    if refused:
        note = "refused for some recipients: " + _replies(refused)
        report.errors.append(f"{label}: sent, but {note}")
        log.warning("%s: sent, but %s", label, note)
    store.set_mail_status(row["id"], "sent", note)
    report.sent += 1
    log.info("%s: sent to %d recipient(s)", label, len(recipients) - len(refused))
    return "sent"


def _refused(store: Store, row: dict[str, Any], error: str, report: SendReport) -> str:
    store.set_mail_status(row["id"], "pending", error)
    report.failed += 1
    report.errors.append(f"{outbox_label(row)}: {error}; tried again next run")
    log.warning("%s: %s; tried again next run", outbox_label(row), error)
    return "refused"


def _credentials(smtp: SmtpConfig, environ: Mapping[str, str]) -> tuple[str, str] | None:
    """(user, password) from the environment, or None when no login is configured."""
    names = {
        "digest.smtp.username_env": smtp.username_env,
        "digest.smtp.password_env": smtp.password_env,
    }
    if not any(names.values()):
        return None
    unset_keys = [key for key, name in names.items() if not name]
    if unset_keys:
        raise MailError(
            f"{unset_keys[0]} is empty but the other is set: name both environment "
            "variables (user and password) or neither"
        )
    for what, name in (("user name", smtp.username_env), ("password", smtp.password_env)):
        if not environ.get(name):
            raise MailError(
                f"environment variable {name} (the SMTP {what}, named by "
                f"digest.smtp.{'username' if what == 'user name' else 'password'}_env) is "
                "not set or empty; set it for the process that runs monitor, or empty "
                "username_env/password_env if the server needs no login"
            )
    return environ[smtp.username_env], environ[smtp.password_env]


def _connect(
    smtp: SmtpConfig,
    credentials: tuple[str, str] | None,
    smtp_factory: Callable[..., smtplib.SMTP],
    timeout: float,
    tls_context: ssl.SSLContext | None,
) -> smtplib.SMTP:
    connection = smtp_factory(smtp.host, smtp.port, timeout=timeout)
    try:
        connection.ehlo()
        if smtp.starttls:
            if not connection.has_extn("starttls"):
                raise MailError(
                    f"mail server {smtp.host}:{smtp.port} does not offer STARTTLS; use its "
                    "STARTTLS port (usually 587) or set digest.smtp.starttls = false"
                )
            # An explicit context: smtplib's default does not check the certificate.
            connection.starttls(context=tls_context or ssl.create_default_context())
            connection.ehlo()
        if credentials is not None:
            encrypted = isinstance(getattr(connection, "sock", None), ssl.SSLSocket)
            if not encrypted and not _is_loopback(smtp.host):
                raise MailError(
                    f"refusing to send the SMTP password unencrypted to {smtp.host}: set "
                    "digest.smtp.starttls = true"
                )
            user, password = credentials
            try:
                connection.login(user, password)
            except UnicodeEncodeError:
                # smtplib encodes credentials as ASCII; the error would quote the secret.
                raise MailError(
                    f"the SMTP user name ({smtp.username_env}) or password "
                    f"({smtp.password_env}) has non-ASCII characters, which SMTP login "
                    "cannot send"
                ) from None
            except smtplib.SMTPAuthenticationError as exc:
                raise MailError(
                    f"mail server {smtp.host}:{smtp.port} refused the login with the user "
                    f"and password in {smtp.username_env} / {smtp.password_env}: "
                    f"{_reply(exc)}"
                ) from None
            except smtplib.SMTPNotSupportedError:
                raise MailError(
                    f"mail server {smtp.host}:{smtp.port} offers no login (AUTH); empty "
                    "digest.smtp.username_env/password_env or use another port"
                ) from None
    except BaseException:
        _close(connection)
        raise
    return connection


def _describe_connect_error(exc: BaseException, smtp: SmtpConfig) -> str:
    where = f"{smtp.host}:{smtp.port}"
    if isinstance(exc, MailError):
        text = str(exc)
    elif isinstance(exc, ssl.SSLCertVerificationError):
        text = (
            f"the TLS certificate of {where} is not trusted ({exc.verify_message}); "
            "check the host name or install the server's CA certificate"
        )
    elif isinstance(exc, ssl.SSLError):
        text = f"TLS with {where} failed: {exc}"
    elif isinstance(exc, smtplib.SMTPResponseException):
        text = f"mail server {where} refused the connection: {_reply(exc)}"
    elif isinstance(exc, OSError | smtplib.SMTPException):
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        text = f"cannot reach mail server {where}: {reason or type(exc).__name__}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return f"{text}; tried again next run"


def _defer(store: Store, rows: list[dict[str, Any]], error: str, report: SendReport) -> None:
    """Leave rows pending, with the reason, for the next run."""
    if not rows:
        return
    for row in rows:
        store.set_mail_status(row["id"], "pending", error)
    report.failed += len(rows)
    report.errors.append(f"{len(rows)} digest e-mail(s) not sent: {error}")
    log.warning("%d digest e-mail(s) not sent: %s", len(rows), error)


def _alive(connection: smtplib.SMTP) -> bool:
    """Whether a reused connection still answers, before a message is handed to it."""
    try:
        return connection.noop()[0] == 250
    except (OSError, smtplib.SMTPException):
        return False


def _close(connection: smtplib.SMTP) -> None:
    try:
        connection.quit()
    except (OSError, smtplib.SMTPException):
        connection.close()


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _reply(exc: smtplib.SMTPResponseException) -> str:
    return _reply_parts(exc.smtp_code, exc.smtp_error)


def _reply_parts(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()


def _replies(replies: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{address}: {_reply_parts(*reply)}" for address, reply in replies.items())


def outbox_label(row: Mapping[str, Any]) -> str:
    """How logs and reports name one outbox message."""
    return f"digest e-mail {row['day']}/{row['scope']} (outbox {row['id']})"
