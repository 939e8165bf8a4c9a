"""The model versions a database can use: those shipped with the package and those
trained into the data folder's ``models/``, each read from its card alone.

Light on purpose (no numpy, scipy or scikit-learn): ``monitor model list`` and the
activation's checks need only the cards.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.classify.locate import (
    model_folders,
    read_card,
    shipped_model_dir,
    shipped_roots,
)

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.store import Store

SHIPPED = "shipped"
DATA_FOLDER = "data folder"


class UnknownModel(ValueError):
    """No model of that version; the message names the versions there are."""


@dataclass
class ModelEntry:
    version: str
    folder: Path  # absolute
    where: str  # SHIPPED or DATA_FOLDER
    trained_at: str = ""
    complaint_f1: float | None = None  # blind set
    sector_macro_f1: float | None = None
    topic_micro_f1: float | None = None
    office_labels: int | None = None  # office labels it was trained with, when the card says
    active: bool = False  # the model this database uses (see ``list_models``)


def models_dir(config: Config) -> Path:
    """The data folder's models folder: ``models/`` beside the database."""
    return Path(config.database).resolve().parent / "models"


def _metric(metrics: dict[str, Any], key: str) -> float | None:
    value = metrics.get(key)
    return float(value) if isinstance(value, int | float) else None


def entry_of(folder: Path, where: str) -> ModelEntry:
    """The entry of one model folder, from its card (ValueError when unreadable)."""
    card = read_card(folder)
    metrics = card.get("metrics") or {}
    blind: dict[str, Any] = metrics.get("blind") or {}
    if not isinstance(blind, dict):
        blind = {}
    office = card.get("office_labels")
    count = office.get("count") if isinstance(office, dict) else None
    return ModelEntry(
        version=str(card["version"]),
        folder=Path(folder).resolve(),
        where=where,
        trained_at=str(card.get("trained_at", "")),
        complaint_f1=_metric(blind, "complaint_f1"),
        sector_macro_f1=_metric(blind, "sector_macro_f1"),
        topic_micro_f1=_metric(blind, "topic_micro_f1"),
        office_labels=int(count) if isinstance(count, int) else None,
    )


def list_models(config: Config, store: Store | None) -> list[ModelEntry]:
    """Every shipped model, then every model in the data folder's models/ (a folder
    whose card cannot be read is left out). ``active`` marks the model the database
    uses: its active model, else the newest shipped one ($MONITOR_MODEL_DIR aside)."""
    entries: list[ModelEntry] = []
    seen: set[Path] = set()
    places = [(root, SHIPPED) for root in shipped_roots()] + [(models_dir(config), DATA_FOLDER)]
    for root, where in places:
        for folder in model_folders(root):
            if folder.resolve() in seen:
                continue
            seen.add(folder.resolve())
            try:
                entries.append(entry_of(folder, where))
            except ValueError:
                continue
    active = store.active_model() if store is not None else None
    if active is not None:
        in_use: Path | None = Path(active.folder).resolve()
    else:
        shipped = shipped_model_dir()
        in_use = shipped.resolve() if shipped else None
    for entry in entries:
        entry.active = entry.folder == in_use
    return entries


def find_model(config: Config, store: Store | None, version: str) -> ModelEntry:
    """The model of ``version`` (one in the data folder before a shipped one of the
    same version); UnknownModel naming the known versions otherwise."""
    entries = list_models(config, store)
    matches = [e for e in entries if e.version == version]
    if matches:
        return sorted(matches, key=lambda e: e.where != DATA_FOLDER)[0]
    known = ", ".join(f"{e.version} ({e.where})" for e in entries) or "none"
    raise UnknownModel(
        f"no model version '{version}'; known versions: {known}. Models are the shipped "
        f"ones and those in {models_dir(config)} ('monitor model list' shows them)"
    )
