"""What people read: the daily digest, agency trend pages, the static site, e-mail.

``templates()`` is the one Jinja2 setup for all of them: the package's templates,
autoescaped, with the number filters Indonesian readers expect
(``monitor.formatting``) and ``web_link``, the one rule for links on every page and
e-mail: only http(s) addresses become links (a ``javascript:`` URL in an imported
post must never be clickable), with personal data taken out of query and fragment.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape

from monitor.formatting import format_decimal, format_number


def web_link(url: object) -> str:
    """``url`` if it is safe to show as a link (http or https, no spaces or control
    characters), with personal data redacted from query and fragment; else ''."""
    text = str(url or "").strip()
    if any(c.isspace() or ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in text):
        return ""
    if not text.lower().startswith(("http://", "https://")):
        return ""
    from monitor.text.redact import redact_url  # personal data out of query and fragment

    return redact_url(text)


def templates() -> Environment:
    env = Environment(
        loader=PackageLoader("monitor.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = format_number
    env.filters["avg"] = lambda value: format_decimal(value, 1)
    env.filters["web_link"] = web_link
    return env
