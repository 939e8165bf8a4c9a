"""Where the model lives and which version it is, without loading it.

Light on purpose (no numpy, scipy or scikit-learn): the trend pages, the site and
a run with nothing to process need only the version, which the card names.
"""

from __future__ import annotations

import json
import os
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.store import Store

CARD_FILE = "card.json"
MODEL_DIR_ENV = "MONITOR_MODEL_DIR"
# The keyword baseline's version (monitor/classify/baseline.py), used when no model ships.
BASELINE_VERSION = "keyword-baseline-1"


def shipped_roots() -> tuple[Path, ...]:
    """Where models ship: in a source checkout (and an editable install) models/ beside
    the package; an ordinary install puts them in <prefix>/share/monitor/models."""
    return (
        Path(str(resources.files("monitor"))).parent / "models",
        Path(sys.prefix) / "share" / "monitor" / "models",
    )


def model_folders(root: Path) -> list[Path]:
    """The folders under ``root`` that hold a card.json, sorted by name."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / CARD_FILE).is_file())


def shipped_model_dir() -> Path | None:
    """The newest model folder shipped with the package, if any (the first root that
    holds one, its last folder by name)."""
    for root in shipped_roots():
        candidates = model_folders(root)
        if candidates:
            return candidates[-1]
    return None


def model_folder(folder: Path | None = None, store: Store | None = None) -> Path | None:
    """The folder ``load_model`` reads: ``folder``, else $MONITOR_MODEL_DIR, else the
    store's active model, else the shipped one; None when there is none (the keyword
    baseline is used then)."""
    if folder:
        return Path(folder)
    if os.environ.get(MODEL_DIR_ENV):
        return Path(os.environ[MODEL_DIR_ENV])
    active = store.active_model() if store is not None else None
    if active is not None:
        return Path(active.folder)
    return shipped_model_dir()


def model_source(folder: Path | None = None, store: Store | None = None) -> str:
    """Where the model ``load_model(folder, store=store)`` uses comes from, in words."""
    if folder:
        return f"the folder {folder}"
    if os.environ.get(MODEL_DIR_ENV):
        return f"${MODEL_DIR_ENV} ({os.environ[MODEL_DIR_ENV]})"
    active = store.active_model() if store is not None else None
    if active is not None:
        return (
            f"activated in the database {active.activated_at[:16].replace('T', ' ')} UTC "
            f"by {active.activated_by or '?'}"
        )
    if shipped_model_dir() is not None:
        return "the newest shipped model (none activated in the database)"
    return "no trained model found: the keyword baseline"


def read_card(folder: Path) -> dict:
    """A model folder's card.json; ValueError naming the file when it cannot be read."""
    try:
        card = json.loads((Path(folder) / CARD_FILE).read_text(encoding="utf-8"))
        str(card["version"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"model card {Path(folder) / CARD_FILE} cannot be read: {exc}") from None
    return card


def model_version(folder: Path | None = None, store: Store | None = None) -> str:
    """The version ``load_model(folder, store=store)`` would give, read from the card
    alone (for the store's active model, from its activation)."""
    if not folder and not os.environ.get(MODEL_DIR_ENV) and store is not None:
        active = store.active_model()
        if active is not None:
            return active.version
    found = model_folder(folder, store)
    if found is None:
        return BASELINE_VERSION
    return str(read_card(found)["version"])
