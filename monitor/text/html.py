"""Plain text from the HTML some APIs deliver (Mastodon content, RSS summaries, exports)."""

from __future__ import annotations

import html
import re

_BREAK = re.compile(r"(?i)<\s*(br|/p|/div|/li|/h\d)\s*/?\s*>")
# Inline tags wrap parts of a word ("#<span>kupang</span>"): removed without a space.
_INLINE = re.compile(r"(?i)<\s*/?\s*(span|a|b|i|em|strong|u|font|small|mark|abbr)\b[^<>]{0,500}>")
_TAG = re.compile(r"<[^<>]{0,500}>")
_SPACES = re.compile(r"[ \t\r\f\v\xa0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def html_to_text(value: str) -> str:
    """Tags removed (line breaks kept), entities decoded, white space tidied.

    Text that merely looks like a tag after decoding (``&lt;script&gt;``) stays as
    text: reports escape it when they show it. Only for text that IS HTML (or may
    be): on plain text it would drop anything written between < and >.
    """
    if "<" not in value and "&" not in value:
        return value.strip()
    text = _TAG.sub(" ", _INLINE.sub("", _BREAK.sub("\n", value)))
    text = html.unescape(text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
