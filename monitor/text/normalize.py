"""Turn a post into the lower-case, de-slanged text the classifier and gazetteer read.

Deterministic and fast: a handful of compiled regular expressions and one
dictionary lookup per token.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from monitor.text.html import html_to_text

_URL = re.compile(r"https?://\S+|www\.\S+")
_ELONGATION = re.compile(r"([a-z])\1{2,}")
_REDUPLICATION = re.compile(r"\b([a-z]{2,})2\b")
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*|[#@][\w]+")
_SPACE = re.compile(r"\s+")


@lru_cache(maxsize=1)
def slang_lexicon() -> dict[str, str]:
    """The project's slang / Kupang Malay / abbreviation lexicon (data/slang.tsv)."""
    lexicon: dict[str, str] = {}
    text = resources.files("monitor.data").joinpath("slang.tsv").read_text("utf-8")
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        word, _, meaning = line.partition("\t")
        if meaning:
            lexicon[word.strip()] = meaning.strip()
    return lexicon


def clean(text: str) -> str:
    """Lower-case plain text: HTML and URLs removed, elongation and reduplication folded."""
    text = html_to_text(text).lower()
    text = _URL.sub(" ", text)
    text = _ELONGATION.sub(r"\1", text)
    text = _REDUPLICATION.sub(r"\1-\1", text)
    return _SPACE.sub(" ", text).strip()


def tokens(text: str) -> list[str]:
    return _WORD.findall(text)


def normalize(text: str) -> str:
    """The text the classifier sees: cleaned, tokenised, slang replaced by standard words."""
    lexicon = slang_lexicon()
    return " ".join(lexicon.get(token, token) for token in tokens(clean(text)))
