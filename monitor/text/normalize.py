"""Read a post the way a person from Kupang reads it.

``normalize(text)``: lower-case standard Indonesian tokens (slang, Kupang Malay
and abbreviations replaced from ``data/slang.tsv``), with hashtags split where
the split is clear (``#KTPLambat`` -> ``#ktplambat ktp lambat``), mentions kept
(``@dukcapil_kota``), emoji turned into signal words (``emoji_marah``), money
into ``nominaluang``, other numbers into ``angka``, elongation folded
(``lamaaa`` -> ``lama``) and digit reduplication expanded (``anak2`` ->
``anak-anak``). The gazetteer reads this text.

``classifier_text(text)``: the same tokens stemmed with PySastrawi (cached per
token) and without stop words; the project's stop-word list keeps every word
that carries complaint meaning (tidak, belum, kurang, lama, mohon, ...).

Deterministic and offline: nltk's TweetTokenizer needs no downloaded data.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from nltk.tokenize import TweetTokenizer

from monitor.text.html import html_to_text

# A URL ends before trailing punctuation ("lihat https://x.co/a!!!" keeps the "!").
_URL = re.compile(r"(?:https?://|www\.)\S*[^\s.,!?;:)\]]")
_HASHTAG = re.compile(r"#(\w+)")
_CAMEL = re.compile(
    r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])"
)
_MONEY = re.compile(
    r"\brp\.?\s?\d[\d.,]*(?:\s?(?:rb|ribu|k|jt|juta|m|miliar))?\b"
    r"|\b\d+(?:[.,]\d+)?\s?(?:rb|ribu|rban|k|jt|juta|jutaan)\b"
)
# Elongation: three or more of a vowel anywhere ("lamaaa"), of a consonant at a
# word's end ("parahhh"); "pppk" (a civil-service category) stays.
_ELONGATION = re.compile(r"([aiueo])\1{2,}|([a-z])\2{2,}\b")
_APOSTROPHE = re.compile(r"(?<=\w)['’`](?=\w|\s|$)")
_REDUPLICATION = re.compile(r"\b([a-z]{2,})2\b")
_REPEATED_PUNCT = re.compile(r"([!?.,])\1+")
_NUMBER = re.compile(r"^\d+(?:[.,:/]\d+)*$")
_PLAIN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_WORD = re.compile(r"^[#@]?[a-z0-9_]+(?:-[a-z0-9]+)*$")

# Emoji that carry a signal, grouped by what they tell; the rest are dropped.
EMOJI_SIGNALS: dict[str, str] = {
    **dict.fromkeys("😡😠🤬👿💢😤", "emoji_marah"),
    **dict.fromkeys("😭😢😥😞😔😩😫🥲🥺☹🙁😓😰", "emoji_sedih"),
    **dict.fromkeys("👏", "emoji_tepuktangan"),  # often sarcastic applause
    **dict.fromkeys("🙏", "emoji_mohon"),
    **dict.fromkeys("🤦🙄😒😑🤷", "emoji_kesal"),
    **dict.fromkeys("😂🤣😆😅", "emoji_tawa"),
    **dict.fromkeys("👍💪✅", "emoji_jempol"),
    **dict.fromkeys("❤💕💖😍🥰😊☺🤗", "emoji_senang"),
}

_TOKENIZER = TweetTokenizer(preserve_case=True, reduce_len=False, strip_handles=False)


@lru_cache(maxsize=1)
def slang_lexicon() -> dict[str, str]:
    """The project's slang / Kupang Malay / abbreviation lexicon (data/slang.tsv)."""
    lexicon: dict[str, str] = {}
    text = resources.files("monitor.data").joinpath("slang.tsv").read_text("utf-8")
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        word, _, meaning = line.partition("\t")
        if meaning.strip():
            lexicon[word.strip()] = meaning.strip()
    return lexicon


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """The project's stop words (data/stopwords.txt): function words only."""
    text = resources.files("monitor.data").joinpath("stopwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def _split_hashtag(match: re.Match[str]) -> str:
    tag = match.group(1)
    parts = _CAMEL.split(tag)
    if len(parts) > 1:
        return f" #{tag} {' '.join(parts)} "
    return f" #{tag} "


@lru_cache(maxsize=8192)  # the classifier reads the clean text twice (tokens, char n-grams)
def clean(text: str) -> str:
    """Plain lower-case text: HTML and URLs gone, hashtags split, money and elongation folded."""
    text = _HASHTAG.sub(_split_hashtag, html_to_text(text))
    text = _URL.sub(" ", text.lower())
    text = _MONEY.sub(" nominaluang ", text)
    text = _ELONGATION.sub(lambda m: m.group(1) or m.group(2), _APOSTROPHE.sub("", text))
    text = _REDUPLICATION.sub(r"\1-\1", text)
    return _REPEATED_PUNCT.sub(r"\1", text)


@lru_cache(maxsize=100_000)
def _chunk_tokens(chunk: str) -> tuple[str, ...]:
    """TweetTokenizer's reading of one whitespace-free chunk with punctuation or emoji."""
    return tuple(_TOKENIZER.tokenize(chunk))


@lru_cache(maxsize=200_000)
def _standard(token: str) -> tuple[str, ...]:
    """What one raw token becomes: lexicon meaning, signal word, or nothing."""
    if token in EMOJI_SIGNALS:
        return (EMOJI_SIGNALS[token],)
    if token in ("!", "?"):
        return (token,)
    if _NUMBER.match(token):
        return ("angka",)
    if _WORD.match(token):
        meaning = slang_lexicon().get(token)
        return tuple(meaning.split()) if meaning else (token,)
    if token[0] in EMOJI_SIGNALS:  # emoji with a skin-tone or variation selector
        return (EMOJI_SIGNALS[token[0]],)
    return ()


def tokens(text: str) -> list[str]:
    """Standard-Indonesian tokens of a post (see module docstring).

    Cached for the last few thousand texts: processing reads each post several
    times (classifier features, agency resolution, near-duplicate shingles)."""
    return list(_tokens(text))


@lru_cache(maxsize=8192)
def _tokens(text: str) -> tuple[str, ...]:
    """Standard-Indonesian tokens of a post (see module docstring).

    Plain chunks (letters, digits, inner hyphens) are tokens as they are; only
    chunks with punctuation or emoji go through TweetTokenizer, which is most of
    the cost, so both steps are cached.
    """
    out: list[str] = []
    for chunk in clean(text).split():
        if _PLAIN.match(chunk):
            out.extend(_standard(chunk))
        else:
            for token in _chunk_tokens(chunk):
                out.extend(_standard(token))
    return tuple(out)


def normalize(text: str) -> str:
    """The normalised text: standard-Indonesian tokens joined by spaces."""
    return " ".join(tokens(text))


@lru_cache(maxsize=8192)
def plain_tokens(text: str) -> tuple[str, ...]:
    """Lower-case words as written, without the lexicon: what place names are matched on.

    The lexicon reads words, not places: Kupang Malay "tarus" means "terus", and the
    village of Tarus must not be found in every "trs" and "mulu".
    """
    out: list[str] = []
    for chunk in clean(text).split():
        if _PLAIN.match(chunk):
            out.append(chunk)
        else:
            out.extend(t for t in _chunk_tokens(chunk) if _WORD.match(t))
    return tuple(out)


@lru_cache(maxsize=1)
def _stemmer():
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    return StemmerFactory().create_stemmer()


# PySastrawi (ECS) removes prefixes only from words that start like one (di-, ke-,
# se-, be(r)-, me-, pe(r)-, te(r)-, ku-, kau-, or an infix -er- -el- -em- -in-), and
# returns either a word of its dictionary or the word itself. A word that starts
# like none of these and is no dictionary word plus suffixes (particle, possessive,
# derivational) is therefore its own stem: most typos and names are, and they are
# what makes stemming slow (0.1-0.2 ms each). tests/test_normalize.py checks this
# against PySastrawi on every dictionary word, affixed forms and the labeled samples.
_MAY_HAVE_PREFIX = re.compile(
    r"(?:di|ke|se|be|me|pe|te|ku|kau|[bcdfghjklmnpqrstvwxyz](?:er|el|em|in)[aiueo])"
)
_SUFFIXES = frozenset(
    derivational + possessive + particle
    for derivational in ("", "i", "is", "isme", "isasi", "kan", "an")
    for possessive in ("", "ku", "mu", "nya")
    for particle in ("", "lah", "kah", "tah", "pun")
) - {""}
_SUFFIX_LENGTHS = sorted({len(s) for s in _SUFFIXES})
_LOWER_ASCII = re.compile(r"[a-z]+")


def is_own_stem(token: str) -> bool:
    """True when PySastrawi would return ``token`` unchanged, known without running it
    (False means: ask PySastrawi)."""
    if not _LOWER_ASCII.fullmatch(token):
        return False
    if len(token) <= 3:
        return True  # PySastrawi does not stem short words
    if _MAY_HAVE_PREFIX.match(token):
        return False
    roots = _stemmer().delegatedStemmer.dictionary.words
    return not any(
        token[-n:] in _SUFFIXES and token[:-n] in roots for n in _SUFFIX_LENGTHS if n < len(token)
    )


@lru_cache(maxsize=200_000)
def stem(token: str) -> str:
    """PySastrawi's stem of one token, cached (uncached stemming is the slow part)."""
    if not token.isalpha():
        return token  # hashtags, mentions, emoji_*, angka-like and hyphenated tokens stay
    if is_own_stem(token):
        return token
    return _stemmer().stem(token) or token


def classifier_text(text: str) -> str:
    """The text the classifier sees: normalised, stop words dropped, stemmed."""
    stop = stopwords()
    return " ".join(stem(t) for t in tokens(text) if t not in stop)
