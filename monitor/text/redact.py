"""Personal data removal for anything shown or reported, and author pseudonyms.

The text is first normalised (Unicode NFKC, so full-width digits, ``＠`` and
non-breaking spaces become plain ones; zero-width characters removed). Then
NIK/KK numbers, mobile and fixed-line phone numbers, e-mail addresses (also
written ``[at]`` or `` @ ``), bank accounts introduced as such, vehicle plates and
@mentions of private accounts become placeholders. Dates, times, money, counts,
years and RT/RW numbers stay, because they are what the complaint is about.
Names and street addresses are NOT recognised and stay as written.

``redact_url`` does the same for the query string and fragment of a link.

Every pattern has bounded repetitions and separators that can be read in only one
way: an unbounded pattern here once took minutes on a 100 KB "word".
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import unicodedata
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

# Indonesian vehicle registration prefixes (region codes), e.g. DH = Kupang and Timor.
_PLATE_PREFIXES = (
    "A B D E F G H K L M N P R S T W Z AA AB AD AE AG BA BB BD BE BG BH BK BL BM BN BP "
    "DA DB DD DE DG DH DK DL DM DN DR DT DW EA EB ED KB KH KT KU PA PB"
).split()

# "@", " @ " (spaces both sides: "lapor @bapak.tefa" is a mention), "[at]", "(at)", "{at}";
# "." or "[dot]", "(dot)".
_AT = r"(?:@|[ \t]{1,2}@[ \t]{1,2}|[ \t]{0,2}[\[({][aA][tT][\])}][ \t]{0,2})"
_DOT = r"(?:\.|[ \t]{0,2}[\[({][dD][oO][tT][\])}][ \t]{0,2})"
_EMAIL = re.compile(
    r"(?<![\w.+\-])[\w.+\-]{1,64}"
    + _AT
    + r"[\w\-]{1,63}(?:"
    + _DOT
    + r"[\w\-]{1,63}){0,8}"
    + _DOT
    + r"[a-zA-Z]{2,24}"
)
_AT_WORD = re.compile(r"[\[({][aA][tT][\])}]")  # the e-mail pattern's "@" without an @

# A date at the start of a number (12/10/2026, 08 12 2026) is never a NIK or a phone.
_NOT_A_DATE = r"(?!\d{1,2}[./\-][ \t]?\d{1,2}[./\-][ \t]?(?:19|20)\d\d(?!\d))"
# 16 digits (NIK, KK), between them one kind of separator throughout: up to three
# spaces, or a dot, dash or slash ("jam 07.00-12.30 01/01/2026" is not a NIK).
_NIK = re.compile(
    r"(?<![\d.\-/])" + _NOT_A_DATE + r"\d(?:"
    r"(?:(?:[ \t]{1,3})?\d){15}|(?:\.?\d){15}|(?:-?\d){15}|(?:/?\d){15}"
    r")(?!\d)"
)

# Between digit groups of a phone number: spaces, or a dot or dash with a space each side.
_PSEP = r"(?:[ \t]{1,3}|[ \t]?[.\-][ \t]?)"
# 8, then 7 to 12 digits; only spaces between the 8 and the next digit (08.00-12.00 is a time).
_MOBILE_CORE = r"8[ \t]{0,3}\d(?:" + _PSEP + r"?\d){6,11}(?!\d)"
_INTL = r"(?:\([ \t]{0,2}\+?[ \t]{0,2}62[ \t]{0,2}\)|\+[ \t]{0,2}62)"  # +62, (+62), (62)
_PHONE = re.compile(
    r"(?<![\w+])(?:"
    + _INTL
    + _PSEP
    + r"?(?:\(8\d{1,2}\)(?:"
    + _PSEP
    + r"?\d){6,10}(?!\d)|"
    + _MOBILE_CORE
    + r")"
    + r"|62[ .\-]?"
    + _MOBILE_CORE
    + r"|(?!08[ \t]{1,3}\d{1,2}[ \t]{1,3}(?:19|20)\d\d(?!\d))0"
    + _MOBILE_CORE
    + r")"
)
# Fixed lines: (0380) 821 234, 0380-821234, 0380 821234, +62 380 821234, (+62) 21 1234 5678.
_SUBSCRIBER = r"\d(?:" + _PSEP + r"?\d){4,7}(?!\d)"
_LANDLINE = re.compile(
    r"(?<![\w+])(?:"
    r"\(0\d{2,3}\)"
    + _PSEP
    + r"?"
    + _SUBSCRIBER
    + r"|0[2-79]\d{1,2}"
    + _PSEP
    + _SUBSCRIBER
    + r"|"
    + _INTL
    + _PSEP
    + r"?(?:\([2-79]\d{1,2}\)|[2-79]\d{1,2})"
    + _PSEP
    + r"?"
    + _SUBSCRIBER
    + r")"
)
# "rek", "rek.", "no rek", "No.Rek.", "norek", "nomor rekening(nya)", then up to eight
# words (letters only, so a word and its separators can be split one way only; never
# "Rp"), then the number: "rek. BCA a.n. Budi 0123...", "No.Rek.BNI:0123...",
# "nomor rekening saya di bank BNI 0123...".
_ACCOUNT = re.compile(
    r"(?i)\b((?:no(?:mor)?[ \t.]{0,3})?rek(?:ening)?(?:nya|ku)?|norek)\b"
    r"((?:[ \t.:,/]{1,4}(?!rp\b)[a-z]{1,15}){0,8}[ \t.:,/=#\-]{0,4})"
    r"(\d[\d .\-]{5,22}\d)"
)
# After "rekening", 1.500.000 is an amount; after Javanese "rek" (mate), 06.30 is a time.
_NOT_AN_ACCOUNT = re.compile(r"\d{1,3}(?:\.\d{3})+|.*(?<!\d)\d{1,2}\.\d\d(?!\d).*")
_PLATE = re.compile(
    r"\b(?:" + "|".join(_PLATE_PREFIXES) + r")\s?\d{1,4}\s?[A-Z]{1,3}\b"
    r"|\b(?:" + "|".join(p.lower() for p in _PLATE_PREFIXES) + r")\s?\d{3,4}\s?[a-z]{2,3}\b"
)

# Handles may contain dots (Instagram: @bapak.tefa), never at the end (a full stop).
_MENTION = re.compile(r"(?<![\w@])@(\w{1,50}(?:\.\w{1,50}){0,4})")

PLACEHOLDERS = ("[NIK]", "[TELEPON]", "[EMAIL]", "[REKENING]", "[PLAT]", "[AKUN]")


# Control characters (NUL, escape codes, bidirectional overrides) never reach a report.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def strip_controls(text: str) -> str:
    return _CONTROL.sub("", text)


# Invisible characters that can sit inside a number or address: zero-width space,
# non-joiner, word joiner, invisible operators, BOM, soft hyphen, Mongolian vowel
# separator, combining grapheme joiner; a zero-width joiner unless it joins emoji.
_ZERO_WIDTH = re.compile(
    "[\u200b\u200c\u2060-\u2064\ufeff\u00ad\u180e\u034f]"
    "|\u200d(?![\u2600-\u27bf\U0001f000-\U0001faff])"
)


def normalise(text: str) -> str:
    """Controls removed; non-ASCII text in NFKC without zero-width characters."""
    text = strip_controls(text)
    if text.isascii():
        return text
    return _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text))


def _account(m: re.Match[str]) -> str:
    if _NOT_AN_ACCOUNT.fullmatch(m.group(3)):
        return m.group(0)
    return f"{m.group(1)}{m.group(2)}[REKENING]"


_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def handle_key(handle: str) -> str:
    """A handle as compared: lower case, letters and digits only, so ``@Dukcapil_Kota.Kupang``
    and ``dukcapilkotakupang`` are one account name."""
    return _NOT_ALNUM.sub("", handle.lower())


def _mention(keep_handles: frozenset[str]):
    return lambda m: m.group(0) if handle_key(m.group(1)) in keep_handles else "[AKUN]"


_NOT_DIGIT = re.compile(r"\D+")


def redact(text: str, keep_handles: frozenset[str] | None = frozenset()) -> str:
    """The text with personal data replaced by placeholders; safe to show and report.

    @mentions become ``[AKUN]`` unless the handle's ``handle_key`` is in
    ``keep_handles`` (the agencies' own accounts); ``keep_handles=None`` keeps all
    (``privacy.show_author_handles``).
    """
    text = normalise(text)
    # Each pattern runs only when the text has what it needs (an @, or enough digits):
    # most posts have neither, and the patterns are most of the cost of storing a post.
    if "@" in text or _AT_WORD.search(text):
        text = _EMAIL.sub("[EMAIL]", text)
        if keep_handles is not None and "@" in text:
            text = _MENTION.sub(_mention(keep_handles), text)
    # Fewest digits each pattern can match: account 2, NIK 16, mobile 9, fixed line 8.
    digits = len(_NOT_DIGIT.sub("", text))
    if digits == 0:
        return text
    if digits >= 2:
        text = _ACCOUNT.sub(_account, text)
    if digits >= 16:
        text = _NIK.sub("[NIK]", text)
    if digits >= 9:
        text = _PHONE.sub("[TELEPON]", text)
    if digits >= 8:
        text = _LANDLINE.sub("[TELEPON]", text)
    return _PLATE.sub("[PLAT]", text)


# Query and fragment keys whose value is personal data, by placeholder.
_URL_KEYS = {
    "[NIK]": "nik kk nokk ktp noktp",
    "[TELEPON]": "hp nohp phone phonenumber mobile msisdn tel telp notelp telepon telephone "
    "wa nowa whatsapp",
    "[EMAIL]": "email mail",
    "[REKENING]": "rek norek rekening norekening",
}
_URL_KEY_PLACEHOLDER = {key: ph for ph, keys in _URL_KEYS.items() for key in keys.split()}
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_URL_VALUE = ((_EMAIL, "[EMAIL]"), (_NIK, "[NIK]"), (_PHONE, "[TELEPON]"), (_LANDLINE, "[TELEPON]"))


def _url_value_placeholder(value: str) -> str | None:
    """The placeholder for a query value or fragment that is personal data, else None."""
    text = normalise(unquote_plus(value))
    for pattern, placeholder in _URL_VALUE:
        if pattern.search(text):
            return placeholder
    return None


def _redact_params(part: str) -> str:
    params = []
    for param in part.split("&"):
        key, eq, value = param.partition("=")
        if not eq:
            key, value = "", param
        name = _NOT_ALNUM.sub("", normalise(unquote_plus(key)).lower())
        placeholder = _URL_KEY_PLACEHOLDER.get(name) if value else None
        placeholder = placeholder or _url_value_placeholder(value)
        if placeholder:
            value = quote(placeholder, safe="")
        params.append(f"{key}{eq}{value}")
    return "&".join(params)


def redact_url(url: str) -> str:
    """The link with personal data in its query string and fragment replaced.

    Values of keys such as ``nik``, ``kk``, ``hp``, ``phone``, ``telp``, ``email``,
    ``wa``, ``rek`` become the (percent-encoded) placeholder, and so does any value
    that itself is a NIK, phone number or e-mail address: ``?nik=5371…&hp=0812…`` →
    ``?nik=%5BNIK%5D&hp=%5BTELEPON%5D``. Scheme, host and path are kept.
    """
    if "?" not in url and "#" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""  # not a link anyone can follow
    query = _redact_params(parts.query) if parts.query else parts.query
    fragment = _redact_params(parts.fragment) if parts.fragment else parts.fragment
    if query == parts.query and fragment == parts.fragment:
        return url
    return urlunsplit(parts._replace(query=query, fragment=fragment))


@functools.lru_cache(maxsize=65536)  # authors post many times; the HMAC is per author
def pseudonymise(key: bytes, platform: str, author: str) -> str:
    """A stable pseudonym for an author: keyed hash, so handles cannot be looked up."""
    if not author:
        return ""
    digest = hmac.new(key, f"{platform}:{author.lower()}".encode(), hashlib.sha256)
    return "u_" + digest.hexdigest()[:20]
