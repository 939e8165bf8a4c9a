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

CARD_FILE = "card.json"
MODEL_DIR_ENV = "MONITOR_MODEL_DIR"
# The keyword baseline's version (monitor/classify/baseline.py), used when no model ships.
BASELINE_VERSION = "keyword-baseline-1"


def shipped_model_dir() -> Path | None:
    """The newest model folder shipped with the package, if any.

    In a source checkout (and an editable install) that is models/ beside the
    package; an ordinary install puts it in <prefix>/share/monitor/models.
    """
    roots = (
        Path(str(resources.files("monitor"))).parent / "models",
        Path(sys.prefix) / "share" / "monitor" / "models",
    )
    for root in roots:
        if root.is_dir():
            candidates = sorted(p for p in root.iterdir() if (p / CARD_FILE).exists())
            if candidates:
                return candidates[-1]
    return None


def model_folder(folder: Path | None = None) -> Path | None:
    """The folder ``load_model`` reads: ``folder``, else $MONITOR_MODEL_DIR, else the
    shipped one; None when there is none (the keyword baseline is used then)."""
    if folder:
        return Path(folder)
    if os.environ.get(MODEL_DIR_ENV):
        return Path(os.environ[MODEL_DIR_ENV])
    return shipped_model_dir()


def model_version(folder: Path | None = None) -> str:
    """The version ``load_model(folder)`` would give, read from the card alone."""
    found = model_folder(folder)
    if found is None:
        return BASELINE_VERSION
    try:
        return str(json.loads((found / CARD_FILE).read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"model card {found / CARD_FILE} cannot be read: {exc}") from None
