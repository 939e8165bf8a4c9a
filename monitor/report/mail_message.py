"""The digest as an e-mail message, and its place in the outbox.

``queue_digest`` stores the finished message (its bytes) in the database's outbox,
once per day and scope ("all" or an agency id); queuing the same day and scope again
keeps the first. Sending is ``monitor.report.mail_send``'s.
"""

from __future__ import annotations

import email.policy
import email.utils
import logging
import re
from datetime import date
from email.message import EmailMessage

from monitor.clock import utc_now
from monitor.store import Store

log = logging.getLogger(__name__)

# Content-IDs and Message-ID parts are written into headers: keep them to safe characters.
_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SCOPE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def digest_message_id(day: date, scope: str, sender: str) -> str:
    """The digest's stable Message-ID, e.g. '<digest-2026-11-21-all@ombudsman.go.id>'.

    The sender's domain keeps two offices' digests of the same day apart in a shared inbox.
    """
    domain = sender.rpartition("@")[2].strip(" >") if "@" in sender else ""
    if not re.match(r"^[A-Za-z0-9.-]+$", domain):
        domain = "monitor"
    return f"<digest-{day.isoformat()}-{scope}@{domain}>"


def build_message(
    subject: str,
    sender: str,
    recipients: list[str],
    html: str,
    text: str,
    images: dict[str, bytes],
    message_id: str,
) -> EmailMessage:
    """A multipart/alternative mail: plain text first, then the HTML with its images.

    Each image is a PNG inline part with ``Content-ID: <name>``; the HTML shows it with
    ``<img src="cid:name">``. Text and HTML are UTF-8, quoted-printable (7-bit safe for
    any server). Without images the HTML part stands alone instead of in a
    multipart/related.
    """
    if not sender.strip():
        raise ValueError("digest.smtp.sender is empty: set the address the digest is sent from")
    if not recipients:
        raise ValueError("a digest e-mail needs at least one recipient")
    for name in images:
        if not _TOKEN.match(name):
            raise ValueError(
                f"image name {name!r}: use letters, digits, '.', '_' and '-' only "
                "(it becomes the part's Content-ID)"
            )
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = email.utils.format_datetime(utc_now())
    message["Message-ID"] = message_id if message_id.startswith("<") else f"<{message_id}>"
    # RFC 3834: an automatic message, so vacation responders do not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = "id"
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    if images:
        html_part = list(message.iter_parts())[1]  # [text/plain, text/html]
        for name, data in images.items():
            html_part.add_related(
                data,
                maintype="image",
                subtype="png",
                cid=f"<{name}>",
                disposition="inline",
                filename=f"{name}.png",
            )
    return message


def queue_digest(
    store: Store,
    day: date,
    scope: str,
    recipients: list[str],
    subject: str,
    html: str,
    text: str,
    images: dict[str, bytes],
    sender: str,
) -> bool:
    """Put one day's digest for ``scope`` ("all" or an agency id) in the outbox.

    Returns False when that day and scope is already queued: the first is kept, so a
    digest written twice is still mailed once.
    """
    if not _SCOPE.match(scope):
        raise ValueError(f"scope {scope!r}: 'all' or an agency id (a-z, 0-9, -)")
    message = build_message(
        subject,
        sender,
        recipients,
        html,
        text,
        images,
        digest_message_id(day, scope, sender),
    )
    queued = store.enqueue_mail(
        day.isoformat(),
        scope,
        list(recipients),
        subject,
        message.as_bytes(policy=email.policy.SMTP),
    )
    if queued:
        log.info("queued the %s digest of %s for %d recipient(s)", scope, day, len(recipients))
    else:
        log.info("the %s digest of %s is already in the outbox; kept the first", scope, day)
    return queued
