"""The digest by e-mail, through an outbox: never lost, never sent twice.

Two steps, each in its module: ``mail_message.queue_digest`` puts the finished
message in the database's outbox once per day and scope; ``mail_send.send_pending``
hands waiting messages to the mail server at most once each (a message whose
delivery is in doubt becomes ``unconfirmed`` and is never sent again by itself).

This module is what a person does about one message. Only a person resends:
``monitor outbox resend DAY [--scope SCOPE]`` (``resendable`` + ``resend``) puts one
message back to ``pending`` and sends it at once through ``send_pending``;
``monitor outbox drop DAY`` marks it ``dropped`` (it arrived, or is not wanted),
which is never sent and no longer reported.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from monitor.config import Config
from monitor.report.mail_send import SendReport, outbox_command, outbox_label, send_pending
from monitor.store import Store

log = logging.getLogger(__name__)

DROPPED = "dropped"  # set only by a person: never sent, no longer reported


class OutboxError(Exception):
    """The outbox has no such message, or it cannot be resent or dropped (says why)."""


def resendable(config: Config, store: Store, day: date, scope: str = "all") -> dict[str, Any]:
    """The outbox row a person asked to resend; OutboxError (nothing changed) when there is
    none, it was already sent, or no mail server is configured to send it to."""
    row = find_message(store, day, scope)
    if row["status"] == "sent":
        raise OutboxError(
            f"{outbox_label(row)} was already sent (at {row['sent_at']}); nothing to resend"
        )
    if not config.digest.smtp.host:
        raise OutboxError(
            f"digest.smtp.host is empty: set the mail server in the config before resending "
            f"{outbox_label(row)}"
        )
    return row


def resend(
    config: Config,
    store: Store,
    row: Mapping[str, Any],
    environ: Mapping[str, str] = os.environ,
    smtp_factory: Callable[..., smtplib.SMTP] = smtplib.SMTP,
    timeout: float = 30,
    *,
    tls_context: ssl.SSLContext | None = None,
) -> tuple[dict[str, Any], SendReport]:
    """A person's decision: put ``row`` (from ``resendable``) back to ``pending`` and send
    it now with ``send_pending`` (so anything else pending goes too). Returns the row as it
    is afterwards and the send report. Must run under the run lock, like ``send_pending``.

    If the server cannot be reached or refuses, the message stays ``pending`` and the
    next run sends it; if the connection breaks while handing it over, it is
    ``unconfirmed`` again.
    """
    if row["status"] != "pending":
        note = (
            f"put back in the queue by "
            f"'{outbox_command('resend', row['day'], row['scope'])}' (was {row['status']})"
        )
        store.set_mail_status(row["id"], "pending", note)
        log.warning("%s: %s", outbox_label(row), note)
    report = send_pending(config, store, environ, smtp_factory, timeout, tls_context=tls_context)
    after = store.outbox_message(row["day"], row["scope"])
    assert after is not None
    return after, report


def droppable(store: Store, day: date, scope: str = "all") -> dict[str, Any]:
    """The outbox row a person asked to drop; OutboxError (nothing changed) when there is
    none or it was already sent."""
    row = find_message(store, day, scope)
    if row["status"] == "sent":
        raise OutboxError(
            f"{outbox_label(row)} was already sent (at {row['sent_at']}); nothing to drop"
        )
    return row


def drop(store: Store, row: Mapping[str, Any]) -> dict[str, Any]:
    """A person's decision: never send ``row`` (from ``droppable``; it arrived, or is not
    wanted). It is marked ``dropped``, which no run sends and doctor no longer reports;
    ``resend`` can still send it. Must run under the run lock."""
    if row["status"] != DROPPED:
        command = outbox_command("drop", row["day"], row["scope"])
        note = f"dropped by '{command}' (was {row['status']}); never sent automatically"
        store.set_mail_status(row["id"], DROPPED, note)
        log.warning("%s: %s", outbox_label(row), note)
    after = store.outbox_message(row["day"], row["scope"])
    assert after is not None
    return after


def find_message(store: Store, day: date, scope: str = "all") -> dict[str, Any]:
    """The outbox row of ``day`` and ``scope``; OutboxError naming what is there if none."""
    row = store.outbox_message(day.isoformat(), scope)
    if row is not None:
        return row
    scopes = [r["scope"] for r in store.outbox_messages() if r["day"] == day.isoformat()]
    if scopes:
        raise OutboxError(
            f"no digest e-mail for {day} with scope {scope!r} in the outbox; that day has "
            f"{', '.join(scopes)} (choose with --scope)"
        )
    raise OutboxError(
        f"no digest e-mail for {day} in the outbox; 'monitor outbox' lists the messages there"
    )
