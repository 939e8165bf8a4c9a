"""Deciding what a post is: complaint or not, sector, topics.

``load_model()`` gives the model ``monitor process`` / ``run`` / ``classify``
use: the trained model shipped in ``models/`` (or the folder in
$MONITOR_MODEL_DIR), else the transparent keyword baseline, and every report
names which. ``train_model()`` builds a new one from ``labeled_samples/``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.classify.locate import MODEL_DIR_ENV, model_folder, model_version

if TYPE_CHECKING:
    from monitor.classify.baseline import KeywordBaseline
    from monitor.classify.model import TextModel
    from monitor.store import Store

log = logging.getLogger(__name__)

__all__ = ["MODEL_DIR_ENV", "KeywordBaseline", "load_model", "model_version", "train_model"]


def __getattr__(name: str):
    # KeywordBaseline on demand: importing this package stays light (no scikit-learn).
    if name == "KeywordBaseline":
        from monitor.classify.baseline import KeywordBaseline

        return KeywordBaseline
    raise AttributeError(name)


def load_model(
    folder: Path | None = None, *, store: Store | None = None
) -> TextModel | KeywordBaseline:
    """The model to classify with: ``folder``, else $MONITOR_MODEL_DIR, else ``store``'s
    active model, else the newest shipped one, else the keyword baseline. A named folder
    or an active model that fails to load is an error (ModelError).
    Only the version is needed? ``model_version()`` reads it from the card."""
    import os

    from monitor.classify.baseline import KeywordBaseline
    from monitor.classify.model import ModelError, TextModel

    if not folder and not os.environ.get(MODEL_DIR_ENV) and store is not None:
        active = store.active_model()
        if active is not None:
            try:
                if not Path(active.folder).is_dir():
                    raise ModelError(f"its folder {active.folder} is gone")
                return TextModel.load(Path(active.folder))
            except (ModelError, OSError, ValueError) as exc:
                back = f" (back to {active.previous_version})" if active.previous_version else ""
                raise ModelError(
                    f"the database's active model {active.version} cannot be loaded: {exc}. "
                    f"Run 'monitor model rollback'{back} or 'monitor model activate VERSION' "
                    "('monitor model list' shows the versions there are)"
                ) from None
    found = model_folder(folder)
    if found is None:
        log.warning("no trained model found in models/; using the keyword baseline")
        return KeywordBaseline()
    return TextModel.load(found)


def train_model(*args, **kwargs):
    """``monitor.classify.build.train_model``: imported on demand (scikit-learn)."""
    from monitor.classify.build import train_model as build

    return build(*args, **kwargs)


__all__ = ["KeywordBaseline", "ModelError", "TextModel", "load_model", "train_model"]
