"""Normalisation as a Kupang reader needs it, rule by rule."""

from __future__ import annotations

import nltk
import pytest

from monitor.text.normalize import (
    classifier_text,
    normalize,
    slang_lexicon,
    stem,
    stopwords,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        # everyday slang and abbreviations
        ("ktp sy blm jadi udh 3 bln", "ktp saya belum jadi sudah angka bulan"),
        ("gak ada info, knp gk diangkat?", "tidak ada info kenapa tidak diangkat ?"),
        # Kupang Malay
        ("beta su antre dari pagi, sonde dilayani", "saya sudah antre dari pagi tidak dilayani"),
        ("katong su lapor ju ma dong diam sa", "kita sudah lapor juga ma dong diam saja"),
        # domain abbreviations
        ("e-ktp di capil lama", "ktp di dukcapil lama"),
        # elongation, but not acronyms
        ("lamaaaa parahhh tolonggg", "lama parah tolong"),
        ("tes PPPK diundur", "tes pppk diundur"),
        # reduplication with a digit
        ("anak2 nunggu jadi2", "anak-anak tunggu jadi-jadi"),
        # money and numbers
        ("diminta Rp 50.000 biar cepat", "diminta nominaluang biar cepat"),
        (
            "bayar 150rb ke calo, 2jt utk sertifikat",
            "bayar nominaluang ke calo nominaluang untuk sertifikat",
        ),
        ("antre 5 jam", "antre angka jam"),
        # hashtags split where clear, mentions kept
        ("#KTPLambat @dukcapil_kupang", "#ktplambat ktp lambat @dukcapil_kupang"),
        ("#pdamkupang", "#pdamkupang"),
        # emoji as signals, others dropped
        ("mantap 👏👏 😡 🌴", "mantap emoji_tepuktangan emoji_tepuktangan emoji_marah"),
        ("tolong 🙏🏽", "tolong emoji_mohon"),
        # HTML, entities, URLs, punctuation
        ("Air mati<br>&amp; keruh https://t.co/x!!!", "air mati keruh !"),
        ("ga' bisa", "tidak bisa"),
        ("", ""),
    ],
)
def test_normalize(text, expected):
    assert normalize(text) == expected


def test_classifier_text_drops_function_words_keeps_complaint_words():
    text = classifier_text("Saya sudah menunggu lama di dukcapil dan belum dilayani, tolong")
    words = text.split()
    for kept in ("saya", "sudah", "lama", "belum", "tolong"):
        assert kept in words
    for dropped in ("di", "dan"):
        assert dropped not in words
    assert "tunggu" in words and "layan" in words  # stemmed


def test_complaint_words_are_never_stop_words():
    for word in (
        "tidak",
        "belum",
        "kurang",
        "jangan",
        "lama",
        "baru",
        "bisa",
        "mohon",
        "tolong",
        "sudah",
        "masih",
        "kapan",
        "kenapa",
        "bukan",
        "harus",
        "!",
        "?",
    ):
        assert word not in stopwords()


def test_lexicon_is_large_well_formed_and_project_written():
    lexicon = slang_lexicon()
    assert len(lexicon) >= 1500
    assert all(key == key.lower() and " " not in key for key in lexicon)
    assert all(meaning and meaning == meaning.lower() for meaning in lexicon.values())
    assert not [k for k, v in lexicon.items() if k == v]
    for word, meaning in {
        "beta": "saya",
        "sonde": "tidak",
        "su": "sudah",
        "katong": "kita",
        "udh": "sudah",
        "blm": "belum",
        "pkm": "puskesmas",
    }.items():
        assert lexicon[word] == meaning


def test_deterministic_and_offline(monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("nltk.download must never be called")

    monkeypatch.setattr(nltk, "download", no_download)
    text = "Beta su antre dari jam 6 pagi 😡 #AntreLama"
    assert normalize(text) == normalize(text)
    assert classifier_text(text) == classifier_text(text)


def test_stemming_leaves_signal_tokens_alone():
    for token in ("#ktplambat", "@dukcapil", "emoji_marah", "anak-anak"):
        assert stem(token) == token
    assert stem("pelayanan") == "layan"


def test_html_inline_tags_do_not_split_words():
    from monitor.text.html import html_to_text

    html = '<p>Antre <a href="x">#<span>KupangKota</span></a>&nbsp;@<span>nona</span></p><p>dua</p>'
    assert html_to_text(html) == "Antre #KupangKota @nona\ndua"


def test_words_known_to_be_their_own_stem_are_exactly_what_pysastrawi_returns():
    """stem() skips PySastrawi for words that cannot lose an affix (most typos and
    names). Every word it skips must be one PySastrawi leaves unchanged: checked on
    every dictionary word, affixed and misspelt forms of them, and the labeled samples."""
    import json
    import random
    from pathlib import Path

    from monitor.text.normalize import _stemmer, is_own_stem, tokens

    stemmer = _stemmer()
    roots = sorted(stemmer.delegatedStemmer.dictionary.words)
    rng = random.Random(20261122)
    prefixes = (
        "di ke se ber be me mem men meng meny pe pem pen peng per ter te ku kau diper".split()
    )
    suffixes = ["", "i", "kan", "an", "nya", "lah", "kannya", "annya", "kah", "pun", "mu", "isasi"]
    words = set(roots)
    for root in rng.sample(roots, 4000):
        words.add(rng.choice(prefixes + [""]) + root + rng.choice(suffixes))
        i = rng.randrange(len(root))
        words.add(root[:i] + rng.choice("abcdefghijklmnopqrstuvwxyz") + root[i + 1 :])
    for path in sorted((Path(__file__).parent.parent / "labeled_samples").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            words.update(tokens(json.loads(line)["text"]))
    skipped = [w for w in sorted(words) if w.isalpha() and is_own_stem(w)]
    assert len(skipped) > 10_000  # the shortcut is taken, so this checks something
    wrong = [(w, stemmer.stem(w)) for w in skipped if (stemmer.stem(w) or w) != w]
    assert wrong == []
