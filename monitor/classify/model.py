"""The trained classifier: features, three linear heads, and safe saving and loading.

Features (TF-IDF, side by side): word 1-2-grams of ``classifier_text``
(normalised, stemmed, without stop words); character 2-5-grams within words of
``clean`` text (the writer's own spelling, noise removed); word 1-3-grams of the
normalised text with its stop words ("belum jadi", "dari subuh"). Heads, each a
logistic regression: complaint or not; one sector of twenty; and one binary
head per topic (multi-label), applied to complaints.

A model is saved as plain data, never as a pickle: ``vocabulary.json`` (the two
vocabularies and vectorizer settings) and ``weights.npz`` (idf vectors and the
heads' weights, read with ``allow_pickle=False``), plus ``card.json`` holding
the SHA-256 of both. Loading checks the hashes first, so a file that was
tampered with or swapped gives a clear error, never silently wrong results.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize as l2_normalize

from monitor.classify.locate import CARD_FILE, shipped_model_dir
from monitor.records import Prediction
from monitor.text.normalize import classifier_text, clean, normalize

VOCABULARY_FILE = "vocabulary.json"
WEIGHTS_FILE = "weights.npz"
CARD_MARKDOWN = "MODEL_CARD.md"

# Word and phrase views keep their 30,000 most frequent terms: on the blind set this scored
# the same as no cap (within 0.002 on every head) at 108,000 features instead of 177,000,
# which keeps the model under 20 MB and faster to load (README, "The classifier").
WORD_SETTINGS = {"ngram_range": (1, 2), "min_df": 2, "sublinear_tf": True, "max_features": 30_000}
# Phrases keep the stop words stemming drops: "belum jadi", "dari subuh", "uang rokok".
PHRASE_SETTINGS = {
    "ngram_range": (1, 3),
    "min_df": 2,
    "sublinear_tf": True,
    "max_features": 30_000,
}
CHAR_NGRAMS = (2, 5)
CHAR_SETTINGS = {"min_df": 3, "sublinear_tf": True, "max_features": 80_000}


@lru_cache(maxsize=8192)  # training reads each word many times; predicting uses the cache below
def _word_char_ngrams(word: str) -> tuple[str, ...]:
    """scikit-learn's char_wb n-grams of one word (padded with spaces), cached."""
    padded = f" {word} "
    grams: list[str] = []
    for n in range(CHAR_NGRAMS[0], CHAR_NGRAMS[1] + 1):
        if len(padded) < n:
            continue
        grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
        if len(padded) == n:
            break
    return tuple(grams)


def char_ngrams(text: str) -> list[str]:
    """Character n-grams within word bounds, as analyzer="char_wb" makes them, but
    cached per word: the same features at several times the speed."""
    grams: list[str] = []
    for word in text.split():
        grams.extend(_word_char_ngrams(word))
    return grams


class ModelError(Exception):
    """The model files cannot be used; the message says which and why."""


def word_vectorizer(**overrides: Any) -> TfidfVectorizer:
    return TfidfVectorizer(dtype=np.float32, **{**WORD_SETTINGS, **overrides})


def phrase_vectorizer(**overrides: Any) -> TfidfVectorizer:
    return TfidfVectorizer(dtype=np.float32, **{**PHRASE_SETTINGS, **overrides})


def char_vectorizer(**overrides: Any) -> TfidfVectorizer:
    return TfidfVectorizer(dtype=np.float32, analyzer=char_ngrams, **{**CHAR_SETTINGS, **overrides})


_URL_IN_TEXT = re.compile(r"https?://|www\.", re.IGNORECASE)
# An agent's reply ends with a nickname signature: "... ya kak -Dina", "^RA".
_SIGNATURE = re.compile(r"(?:\s[-–~^]\s?[A-Z][A-Za-z]{1,12}|\s\^[A-Z]{2,3})\s*$")
_FIRST_PERSON = frozenset(
    "saya sy aku aq gue gw gua beta kami kita ane ambo ulun sa katong torang botong".split()
)


def surface_tokens(text: str) -> list[str]:
    """Words for what a post looks like rather than what it says: length, a leading
    @handle, a link, a question, an agent's signature, the first person, and the
    taxonomy's sector and complaint words (the keyword rule's lists). They tell a
    channel's chatter (a reply to a service account, a news link) from a complaint."""
    from monitor.classify.baseline import keyword_cues

    length = len(text)
    tokens = [
        "zlen"
        + (
            "xs"
            if length < 30
            else "s"
            if length < 80
            else "m"
            if length < 200
            else "l"
            if length < 500
            else "xl"
        )
    ]
    stripped = text.lstrip()
    if stripped.startswith("@"):
        tokens.append("zstartat")
    if _URL_IN_TEXT.search(text):
        tokens.append("zurl")
    if "?" in text:
        tokens.append("zquestion")
    if _SIGNATURE.search(text.rstrip()):
        tokens.append("zsignature")
    normalized = normalize(text)
    if _FIRST_PERSON.intersection(normalized.split()) or _FIRST_PERSON.intersection(
        text.lower().split()
    ):
        tokens.append("zfirstperson")
    tokens.extend(keyword_cues(normalized))
    return tokens


@dataclass
class Vectorizers:
    word: TfidfVectorizer  # classifier_text: normalised, stemmed, no stop words
    char: TfidfVectorizer  # clean text: the writer's own spelling
    phrase: TfidfVectorizer  # normalised text with its stop words
    # Each fitted view's document -> feature indices function (see fast_transform).
    _analyzers: list | None = field(default=None, repr=False)
    surface: bool = False  # surface_tokens() lead the word view

    @classmethod
    def new(cls, surface: bool = False) -> Vectorizers:
        return cls(word_vectorizer(), char_vectorizer(), phrase_vectorizer(), surface=surface)

    def word_input(self, text: str) -> str:
        if self.surface:
            return " ".join(surface_tokens(text)) + " " + classifier_text(text)
        return classifier_text(text)

    def matrix(self, texts: Sequence[str], fit: bool = False) -> sparse.csr_matrix:
        """The feature matrix of raw post texts (fitting the vectorizers when asked)."""
        inputs = (
            (self.word, [self.word_input(t) for t in texts]),
            (self.char, [clean(t) for t in texts]),
            (self.phrase, [normalize(t) for t in texts]),
        )
        if fit:
            self._analyzers = None
            blocks = [v.fit_transform(x) for v, x in inputs]
        else:
            if self._analyzers is None:
                self._analyzers = [_analyzer_ids(v) for v, _ in inputs]
            blocks = [
                fast_transform(v, x, analyze)
                for (v, x), analyze in zip(inputs, self._analyzers, strict=True)
            ]
        return sparse.hstack(blocks, format="csr")


def _analyzer_ids(vectorizer: TfidfVectorizer) -> Callable[[str], list[int]] | None:
    """A function giving the vocabulary indices of a document's features, in the order
    the vectorizer's own analyzer makes them; None for settings it does not mirror."""
    vocabulary = vectorizer.vocabulary_
    get = vocabulary.get
    if vectorizer.analyzer is char_ngrams:
        cache: dict[str, tuple[int, ...]] = {}

        def word_ids(word: str) -> tuple[int, ...]:
            ids = cache.get(word)
            if ids is None:
                if len(cache) > 100_000:  # bounded memory: about 70 MB when full
                    cache.clear()
                ids = cache[word] = tuple(
                    i for i in map(get, _word_char_ngrams(word)) if i is not None
                )
            return ids

        return lambda doc: list(itertools.chain.from_iterable(map(word_ids, doc.split())))
    plain_word = (
        vectorizer.analyzer == "word"
        and vectorizer.input == "content"
        and vectorizer.preprocessor is None
        and vectorizer.tokenizer is None
        and vectorizer.stop_words is None
        and vectorizer.strip_accents is None
    )
    if not plain_word:
        return None
    findall = re.compile(vectorizer.token_pattern).findall
    lowercase = vectorizer.lowercase
    low, high = vectorizer.ngram_range

    def ids(doc: str) -> list[int]:
        words = findall(doc.lower() if lowercase else doc)
        grams = list(words) if low == 1 else []
        for n in range(max(low, 2), min(high, len(words)) + 1):
            grams.extend(map(" ".join, zip(*(words[k:] for k in range(n)), strict=False)))
        return [i for i in map(get, grams) if i is not None]

    return ids


def fast_transform(
    vectorizer: TfidfVectorizer,
    docs: Sequence[str],
    analyze: Callable[[str], list[int]] | None,
) -> sparse.csr_matrix:
    """``vectorizer.transform(docs)``, the same matrix at a fraction of the cost.

    scikit-learn counts features one at a time in Python; here each document
    becomes a list of vocabulary indices (char n-grams looked up once per word)
    and counting, tf-idf weighting and normalising run on whole arrays.
    tests/test_classify.py proves the matrices equal on the labeled samples.
    """
    if analyze is None or vectorizer.norm != "l2" or not vectorizer.use_idf:
        return vectorizer.transform(docs)
    per_doc = [analyze(doc) for doc in docs]
    width = len(vectorizer.vocabulary_)
    lengths = np.fromiter(map(len, per_doc), dtype=np.int64, count=len(per_doc))
    columns = np.fromiter(
        itertools.chain.from_iterable(per_doc), dtype=np.int64, count=int(lengths.sum())
    )
    rows = np.repeat(np.arange(len(per_doc), dtype=np.int64), lengths)
    keys, counts = np.unique(rows * width + columns, return_counts=True)
    indptr = np.zeros(len(per_doc) + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys // width, minlength=len(per_doc)), out=indptr[1:])
    indices = (keys % width).astype(np.int32)
    data = counts.astype(vectorizer.dtype)
    if vectorizer.sublinear_tf:
        np.log(data, out=data)
        data += 1.0
    data *= vectorizer.idf_[indices]
    matrix = sparse.csr_matrix(
        (data, indices, indptr.astype(np.int32)), shape=(len(per_doc), width)
    )
    return l2_normalize(matrix, norm="l2", copy=False)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class Heads:
    """The linear heads' weights: rows are classes, columns features."""

    complaint_coef: np.ndarray  # (features,)
    complaint_intercept: float
    sectors: list[str]
    sector_coef: np.ndarray  # (sectors, features)
    sector_intercept: np.ndarray  # (sectors,)
    topics: list[str]
    topic_coef: np.ndarray  # (topics, features)
    topic_intercept: np.ndarray  # (topics,)
    topic_thresholds: np.ndarray  # (topics,)

    def scores(self, matrix: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        complaint = _sigmoid(matrix @ self.complaint_coef + self.complaint_intercept)
        sector = _softmax(matrix @ self.sector_coef.T + self.sector_intercept)
        topic = _sigmoid(matrix @ self.topic_coef.T + self.topic_intercept)
        return np.asarray(complaint).ravel(), np.asarray(sector), np.asarray(topic)


class TextModel:
    """A trained model: ``predict(texts)`` gives a Prediction per text."""

    def __init__(self, vectorizers: Vectorizers, heads: Heads, card: dict[str, Any]):
        self.vectorizers = vectorizers
        self.heads = heads
        self.card = card
        thresholds = card.get("thresholds", {})
        self.complaint_threshold = float(thresholds.get("complaint", 0.5))
        self.review_band = tuple(thresholds.get("review_band", (0.35, 0.65)))
        self.review_sector_below = float(thresholds.get("review_sector_below", 0.4))
        self.folder: Path | None = None  # where it was loaded from, if it was

    @property
    def version(self) -> str:
        return self.card["version"]

    @property
    def description(self) -> str:
        return f"Model terlatih (regresi logistik, {self.card.get('trained_at', '')[:10]})"

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        complaint, sector, topic = self.heads.scores(self.vectorizers.matrix(texts))
        out = []
        for i in range(len(texts)):
            is_complaint = bool(complaint[i] >= self.complaint_threshold)
            best = int(sector[i].argmax())
            topic_scores = {
                name: round(float(topic[i, j]), 3)
                for j, name in enumerate(self.heads.topics)
                if topic[i, j] >= self.heads.topic_thresholds[j]
            }
            low, high = self.review_band
            out.append(
                Prediction(
                    is_complaint=is_complaint,
                    complaint_score=round(float(complaint[i]), 3),
                    sector=self.heads.sectors[best],
                    sector_score=round(float(sector[i, best]), 3),
                    topics=sorted(topic_scores, key=lambda t: -topic_scores[t])
                    if is_complaint
                    else [],
                    topic_scores=topic_scores if is_complaint else {},
                    needs_review=bool(
                        low <= complaint[i] <= high or sector[i, best] < self.review_sector_below
                    ),
                )
            )
        return out

    def predict_one(self, text: str) -> Prediction:
        return self.predict([text])[0]

    # --- saving and loading -----------------------------------------------------------

    def save(self, folder: Path) -> dict[str, Any]:
        """Write the model files and card.json (with their hashes); returns the card."""
        folder.mkdir(parents=True, exist_ok=True)
        v = self.vectorizers
        vocabulary = {
            "word": {
                "settings": {**_settings(WORD_SETTINGS), "surface": v.surface},
                "vocabulary": _vocab(v.word),
            },
            "char": {
                "settings": {**_settings(CHAR_SETTINGS), "ngram_range": list(CHAR_NGRAMS)},
                "vocabulary": _vocab(v.char),
            },
            "phrase": {"settings": _settings(PHRASE_SETTINGS), "vocabulary": _vocab(v.phrase)},
        }
        (folder / VOCABULARY_FILE).write_text(
            json.dumps(vocabulary, ensure_ascii=False, sort_keys=True), encoding="utf-8"
        )
        h = self.heads
        write_npz(
            folder / WEIGHTS_FILE,
            dict(
                word_idf=v.word.idf_.astype(np.float32),
                char_idf=v.char.idf_.astype(np.float32),
                phrase_idf=v.phrase.idf_.astype(np.float32),
                complaint_coef=h.complaint_coef.astype(np.float32),
                complaint_intercept=np.array([h.complaint_intercept], dtype=np.float32),
                sector_coef=h.sector_coef.astype(np.float32),
                sector_intercept=h.sector_intercept.astype(np.float32),
                topic_coef=h.topic_coef.astype(np.float32),
                topic_intercept=h.topic_intercept.astype(np.float32),
                topic_thresholds=h.topic_thresholds.astype(np.float32),
            ),
        )
        card = dict(self.card)
        card["labels"] = {"sectors": h.sectors, "topics": h.topics}
        card["files"] = {name: sha256_of(folder / name) for name in (VOCABULARY_FILE, WEIGHTS_FILE)}
        (folder / CARD_FILE).write_text(
            json.dumps(card, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        self.card = card
        return card

    @classmethod
    def load(cls, folder: Path) -> TextModel:
        """Load after checking every file's SHA-256 against card.json."""
        folder = Path(folder)
        try:
            card = json.loads((folder / CARD_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(f"no {CARD_FILE} in {folder}: not a model folder") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelError(f"{folder / CARD_FILE} cannot be read: {exc}") from None
        for name in (VOCABULARY_FILE, WEIGHTS_FILE):
            expected = card.get("files", {}).get(name)
            path = folder / name
            if not path.exists():
                raise ModelError(f"{path} is missing")
            actual = sha256_of(path)
            if actual != expected:
                raise ModelError(
                    f"{path} does not match its card (SHA-256 {actual[:12]}…, card says "
                    f"{str(expected)[:12]}…): the file was changed or belongs to another model. "
                    "Retrain with 'monitor train' or restore the shipped model."
                )
        vocabulary = json.loads((folder / VOCABULARY_FILE).read_text(encoding="utf-8"))
        with np.load(folder / WEIGHTS_FILE, allow_pickle=False) as weights:
            arrays = {key: weights[key] for key in weights.files}
        try:
            vectorizers = Vectorizers(
                word_vectorizer(vocabulary=vocabulary["word"]["vocabulary"]),
                char_vectorizer(vocabulary=vocabulary["char"]["vocabulary"]),
                phrase_vectorizer(vocabulary=vocabulary["phrase"]["vocabulary"]),
                surface=bool(vocabulary["word"]["settings"].get("surface", False)),
            )
            vectorizers.word.idf_ = arrays["word_idf"]
            vectorizers.char.idf_ = arrays["char_idf"]
            vectorizers.phrase.idf_ = arrays["phrase_idf"]
        except KeyError as exc:
            raise ModelError(f"{folder} lacks {exc}: made by another version of monitor") from None
        heads = Heads(
            complaint_coef=arrays["complaint_coef"],
            complaint_intercept=float(arrays["complaint_intercept"][0]),
            sectors=list(card["labels"]["sectors"]),
            sector_coef=arrays["sector_coef"],
            sector_intercept=arrays["sector_intercept"],
            topics=list(card["labels"]["topics"]),
            topic_coef=arrays["topic_coef"],
            topic_intercept=arrays["topic_intercept"],
            topic_thresholds=arrays["topic_thresholds"],
        )
        model = cls(vectorizers, heads, card)
        model.folder = folder
        return model


def _settings(settings: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}


def _vocab(vectorizer: TfidfVectorizer) -> dict[str, int]:
    return {term: int(index) for term, index in vectorizer.vocabulary_.items()}


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like np.savez_compressed, but byte-for-byte the same for the same arrays
    (numpy stamps zip entries with the current time)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(
                buffer, np.ascontiguousarray(arrays[name]), allow_pickle=False
            )
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


__all__ = ["ModelError", "Prediction", "TextModel", "normalize", "shipped_model_dir"]
