"""Personal data removal for anything shown or reported, and author pseudonyms.

NIK/KK numbers, phone numbers, e-mail addresses, bank accounts introduced as
such and vehicle plates become placeholders. Dates, times, money, counts and
RT/RW numbers stay, because they are what the complaint is about.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re

# Indonesian vehicle registration prefixes (region codes), e.g. DH = Kupang and Timor.
_PLATE_PREFIXES = (
    "A B D E F G H K L M N P R S T W Z AA AB AD AE AG BA BB BD BE BG BH BK BL BM BN BP "
    "DA DB DD DE DG DH DK DL DM DN DR DT DW EA EB ED KB KH KT KU PA PB"
).split()

# Bounded repetitions: an unbounded pattern here took minutes on a 100 KB "word".
_EMAIL = re.compile(
    r"(?<![\w.+\-])[\w.+\-]{1,64}@[\w\-]{1,63}(?:\.[\w\-]{1,63}){0,8}\.[a-zA-Z]{2,24}"
)
# 16 digits (NIK, KK), single spaces, dots or dashes allowed between digits.
_NIK = re.compile(r"(?<![\d.\-])(?:\d[ .\-]?){15}\d(?![\d])")
# Mobile numbers: +62 / 62 / 0, then 8xx and 6 to 10 more digits with separators.
_PHONE = re.compile(r"(?<![\w+])(?:\+62|62|0)[ .\-]?8\d{1,2}(?:[ .\-]?\d){6,10}(?!\d)")
# Fixed lines with an area code in brackets or followed by a separator: (0380) 821234.
_LANDLINE = re.compile(r"(?<!\d)\(0\d{2,3}\)[ .\-]?\d{5,8}(?!\d)")
_ACCOUNT = re.compile(
    r"(?i)\b(no(?:mor)?\.?\s*rek(?:ening)?\.?|norek|rekening|rek\.)"
    # up to three short words between: bank name, "sy", "a.n. nama"
    r"(\s*(?:[a-z.]{1,12}\s+){0,3}[:.]?\s*)"
    r"(\d[\d .\-]{5,22}\d)"
)
_PLATE = re.compile(
    r"\b(?:" + "|".join(_PLATE_PREFIXES) + r")\s?\d{1,4}\s?[A-Z]{1,3}\b"
    r"|\b(?:" + "|".join(p.lower() for p in _PLATE_PREFIXES) + r")\s?\d{3,4}\s?[a-z]{2,3}\b"
)

_MENTION = re.compile(r"(?<![\w@])@(\w{1,50})")

PLACEHOLDERS = ("[NIK]", "[TELEPON]", "[EMAIL]", "[REKENING]", "[PLAT]", "[AKUN]")


# Control characters (NUL, escape codes, bidirectional overrides) never reach a report.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def strip_controls(text: str) -> str:
    return _CONTROL.sub("", text)


_NOT_DIGIT = re.compile(r"\D+")


def redact(text: str, keep_handles: frozenset[str] | None = frozenset()) -> str:
    """The text with personal data replaced by placeholders; safe to show and report.

    @mentions become ``[AKUN]`` unless the handle (lower-case, without @) is in
    ``keep_handles`` (the agencies' own accounts); ``keep_handles=None`` keeps all
    (``privacy.show_author_handles``).
    """
    text = strip_controls(text)
    # Each pattern runs only when the text has what it needs (an @, or enough digits):
    # most posts have neither, and the patterns are most of the cost of storing a post.
    if "@" in text:
        text = _EMAIL.sub("[EMAIL]", text)
        if keep_handles is not None:
            text = _MENTION.sub(
                lambda m: m.group(0) if m.group(1).lower() in keep_handles else "[AKUN]", text
            )
    # Fewest digits each pattern can match: account 2, NIK 16, mobile 9, fixed line 8.
    digits = len(_NOT_DIGIT.sub("", text))
    if digits == 0:
        return text
    if digits >= 2:
        text = _ACCOUNT.sub(lambda m: f"{m.group(1)}{m.group(2)}[REKENING]", text)
    if digits >= 16:
        text = _NIK.sub("[NIK]", text)
    if digits >= 9:
        text = _PHONE.sub("[TELEPON]", text)
    if digits >= 8:
        text = _LANDLINE.sub("[TELEPON]", text)
    return _PLATE.sub("[PLAT]", text)


@functools.lru_cache(maxsize=65536)  # authors post many times; the HMAC is per author
def pseudonymise(key: bytes, platform: str, author: str) -> str:
    """A stable pseudonym for an author: keyed hash, so handles cannot be looked up."""
    if not author:
        return ""
    digest = hmac.new(key, f"{platform}:{author.lower()}".encode(), hashlib.sha256)
    return "u_" + digest.hexdigest()[:20]
