"""Review batches without a web page: the posts a person should look at first, as a
spreadsheet staff fill in and ``monitor labels import`` reads back.

``choose_batch`` takes the original posts the current model analysed that nobody has
labelled - neither in the ``labels`` table nor as an office label with the same text
(whitespace, Unicode form and case aside) - and orders each (sector, agency) group
most uncertain first: posts the model flagged ``needs_review``, then by how close the
complaint score is to the model's complaint threshold, ties by post id. It then takes
one post from each group in turn (the groups with the most uncertain post first), so a
batch spans sectors and agencies instead of being only the lowest scores.

``export_batch`` writes the batch as CSV (UTF-8 with a BOM, so Excel opens it right;
cells a spreadsheet would run are escaped) or XLSX, by the file's extension. The label
columns (text, is_complaint, sector, topics, agency) hold the model's answers for staff
to correct; post_id, url, created_at, model_complaint_score and model_version are
context, which the import ignores. Texts are the redacted display texts, never the raw.

``review_queue`` is the same choice for the web app's review page (``/review``), one
post at a time, with a fixed random sample of posts the model was sure of mixed in
(every fifth post shown), so its confident mistakes are found too.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
import tempfile
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.clock import parse_iso
from monitor.csvsafe import SafeDictWriter
from monitor.formatting import format_local
from monitor.office_labels import FIELDS, REVIEWED, fold_text
from monitor.report import web_link
from monitor.store import ReviewCandidate, Store

DEFAULT_BATCH = 200
DEFAULT_THRESHOLD = 0.5
CONTEXT_FIELDS = ("post_id", "url", "created_at", "model_complaint_score", "model_version")
# "reviewed" comes empty: a person marks each row checked ("ya"); the import takes only those.
COLUMNS = (REVIEWED, *FIELDS, *CONTEXT_FIELDS)
SUFFIXES = (".csv", ".xlsx")

# (needs_review first, distance to the threshold, post id): smallest is most uncertain
SortKey = tuple[int, float, int]


class ReviewFileError(Exception):
    """The batch cannot be written as asked; the message says why and what to do."""


@dataclass
class ReviewBatch:
    """The chosen posts, in the order staff should read them, and how many there were
    to choose from."""

    posts: list[ReviewCandidate] = field(default_factory=list)
    candidates: int = 0

    def sectors(self) -> list[tuple[str, int]]:
        """(sector, posts in the batch), most first, ties by name."""
        counts = Counter(post.sector for post in self.posts)
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def complaint_threshold(folder: Path | None = None, store: Store | None = None) -> float:
    """The complaint threshold the model card names (of ``store``'s active model, when
    it has one), read without loading the model; 0.5 when there is no card (the keyword
    baseline) or it names none."""
    from monitor.classify.locate import CARD_FILE, model_folder

    found = model_folder(folder, store)
    if found is None:
        return DEFAULT_THRESHOLD
    try:
        card = json.loads((found / CARD_FILE).read_text(encoding="utf-8"))
        return float(card["thresholds"]["complaint"])
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_THRESHOLD


def uncertainty_key(post: ReviewCandidate, threshold: float) -> SortKey:
    return (0 if post.needs_review else 1, abs(post.complaint_score - threshold), post.post_id)


def choose_batch(
    candidates: Iterable[ReviewCandidate],
    labelled_texts: Iterable[str],
    threshold: float,
    n: int = DEFAULT_BATCH,
) -> ReviewBatch:
    """Up to ``n`` posts: round-robin over (sector, agency) groups, each most uncertain
    first. Posts whose text is labelled already, or repeats an earlier post's text, or
    is empty, are not candidates. Deterministic for the same posts and labels."""
    labelled = {fold_text(text) for text in labelled_texts}
    seen: set[str] = set()
    # Per group only its n most uncertain posts can ever be taken: a bounded heap each.
    groups: dict[tuple[str, str], list[tuple[tuple[float, ...], ReviewCandidate]]] = {}
    batch = ReviewBatch()
    for post in candidates:
        text = fold_text(post.text_display)
        if not text or text in labelled or text in seen:
            continue
        seen.add(text)
        batch.candidates += 1
        if n <= 0:
            continue
        key = uncertainty_key(post, threshold)
        heap = groups.setdefault((post.sector, post.agency_id), [])
        entry = (tuple(-part for part in key), post)  # max-heap on the key
        if len(heap) < n:
            heapq.heappush(heap, entry)
        elif entry[0] > heap[0][0]:
            heapq.heapreplace(heap, entry)
    ordered = [
        sorted((post for _, post in heap), key=lambda p: uncertainty_key(p, threshold))
        for heap in groups.values()
    ]
    ordered.sort(key=lambda posts: uncertainty_key(posts[0], threshold))
    for round_ in range(n):
        taken = False
        for posts in ordered:
            if round_ < len(posts):
                batch.posts.append(posts[round_])
                taken = True
                if len(batch.posts) == n:
                    return batch
        if not taken:
            break
    return batch


def review_batch(
    store: Store, model_version: str, threshold: float, n: int = DEFAULT_BATCH
) -> ReviewBatch:
    """The batch to review from what ``store`` holds for ``model_version``."""
    return choose_batch(
        store.review_candidates(model_version), store.office_label_texts(), threshold, n
    )


# The web queue: every CONFIDENT_EVERY-th post shown is one the model was sure of
# (score at least CONFIDENT_MARGIN from the threshold, not flagged), so confident
# mistakes are found too.
CONFIDENT_EVERY = 5
CONFIDENT_MARGIN = 0.3
QUEUE_SIZE = 20


@dataclass
class ReviewQueue:
    """What the web review shows next: the uncertain posts (``choose_batch``'s order), a
    fixed random sample of confident ones, and how many posts wait in all."""

    uncertain: list[ReviewCandidate] = field(default_factory=list)
    confident: list[ReviewCandidate] = field(default_factory=list)
    waiting: int = 0

    def next(self, shown: int, every: int = CONFIDENT_EVERY) -> ReviewCandidate | None:
        """The post to show after ``shown`` posts: a confident one every ``every``-th
        time (when there is one), else the most uncertain; None when nothing is left."""
        first, second = (self.confident, self.uncertain)
        if (shown + 1) % every:
            first, second = second, first
        chosen = first or second
        return chosen[0] if chosen else None


def _sample_key(post: ReviewCandidate) -> str:
    return hashlib.sha256(f"review-sample:{post.post_id}".encode()).hexdigest()


def review_queue(
    store: Store,
    model_version: str,
    threshold: float,
    skip: Collection[int] = (),
    n: int = QUEUE_SIZE,
) -> ReviewQueue:
    """The web review's queue from what ``store`` holds for ``model_version``: never a
    labelled post (as ``review_batch``), nor one in ``skip`` (posts this user passed)."""
    labelled = [fold_text(text) for text in store.office_label_texts()]
    confident: list[tuple[str, ReviewCandidate]] = []  # the smallest hashes: a fixed sample

    def candidates() -> Iterator[ReviewCandidate]:
        for post in store.review_candidates(model_version):
            if post.post_id in skip:
                continue
            sure = abs(post.complaint_score - threshold) >= CONFIDENT_MARGIN
            if sure and not post.needs_review:
                confident.append((_sample_key(post), post))
                if len(confident) > 4 * n:
                    confident.sort(key=lambda entry: entry[0])
                    del confident[2 * n :]
            yield post

    batch = choose_batch(candidates(), labelled, threshold, n)
    taken = {post.post_id for post in batch.posts}
    done = set(labelled)
    sample = [
        post
        for _, post in sorted(confident, key=lambda entry: entry[0])
        if post.post_id not in taken and fold_text(post.text_display) not in done
    ]
    return ReviewQueue(batch.posts, sample[:n], batch.candidates)


def _rows(batch: ReviewBatch, model_version: str, timezone: str) -> Iterator[dict[str, Any]]:
    for post in batch.posts:
        yield {
            REVIEWED: "",
            "text": post.text_display,
            "is_complaint": int(post.is_complaint),
            "sector": post.sector,
            "topics": ";".join(post.topics),
            "agency": post.agency_id,
            "post_id": post.post_id,
            "url": web_link(post.url),
            "created_at": format_local(parse_iso(post.created_at), timezone),
            "model_complaint_score": round(post.complaint_score, 3),
            "model_version": model_version,
        }


def _write_csv(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = SafeDictWriter(handle, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows)


def _write_xlsx(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "review"
    sheet.append(list(COLUMNS))
    for row in rows:
        values = [row[name] for name in COLUMNS]
        values = [ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values]
        sheet.append(values)
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # a text that starts with '=' stays text, never a formula
    sheet.freeze_panes = "A2"
    for letter, width in zip("ABCDEFGHIJ", (80, 12, 20, 24, 28, 9, 40, 20, 12, 24), strict=True):
        sheet.column_dimensions[letter].width = width
    workbook.save(path)


def write_batch(path: Path, batch: ReviewBatch, model_version: str, timezone: str) -> None:
    """Write ``batch`` to ``path`` (.csv or .xlsx) all at once: a half-written file never
    replaces a good one. ReviewFileError for another extension or a missing folder."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ReviewFileError(
            f"{path.name}: unknown file type '{suffix}'; write the batch to a .csv or .xlsx file"
        )
    if not path.parent.is_dir():
        raise ReviewFileError(f"cannot write {path}: the folder {path.parent} does not exist")
    handle = tempfile.NamedTemporaryFile(
        dir=path.parent, prefix=f".{path.stem}.", suffix=suffix, delete=False
    )
    handle.close()
    part = Path(handle.name)
    try:
        rows = _rows(batch, model_version, timezone)
        if suffix == ".csv":
            _write_csv(part, rows)
        else:
            _write_xlsx(part, rows)
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
