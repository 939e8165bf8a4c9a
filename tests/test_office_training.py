"""Training on an office's own labels: the combination methods, scores on partial
labels, held-out answers and the gate that refuses a worse model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from monitor.classify.office import METHODS
from monitor.classify.samples import blind_set_path, load_samples
from monitor.classify.train import DEFAULT_SETTINGS, Row, fit
from monitor.office_training import (
    OfficeSet,
    gate,
    held_out_predictions,
    office_scores,
    trained_keys,
    write_keys,
)
from monitor.records import Prediction


def as_office(samples) -> OfficeSet:
    return OfficeSet([Row.of_sample(s) for s in samples], [s.id for s in samples])


def shuffled(office: OfficeSet, seed: int = 7) -> OfficeSet:
    """The same texts with their labels shuffled among them: nothing true to learn."""
    order = np.random.default_rng(seed).permutation(len(office))
    rows = [
        replace(
            r,
            is_complaint=office.rows[j].is_complaint,
            sector=office.rows[j].sector,
            topics=office.rows[j].topics,
        )
        for r, j in zip(office.rows, order, strict=True)
    ]
    return OfficeSet(rows, office.keys)


@pytest.fixture(scope="module")
def office_posts():
    """Posts written apart from the samples (the blind set), standing in for an
    office's labelled records."""
    blind = sorted(load_samples([blind_set_path()]).samples, key=lambda s: s.id)
    return blind[::18]


# An office's word the samples never use: "kadrasi" (invented) is how this office's
# citizens name their land-certificate desk; its rows give only a sector.
LOCAL = [
    f"sudah {n} kali bolak balik ke loket kadrasi {place}, berkas {thing} belum juga selesai"
    for n, place, thing in zip(
        range(2, 32),
        ["oesapa", "naikoten", "oebobo", "kelapa lima", "maulafa", "alak"] * 5,
        ["saya", "bapak", "mama", "kakak", "om", "tante"] * 5,
        strict=True,
    )
]


PROBE = "loket kadrasi tutup lagi, kapan urusan saya selesai"
SECTOR_ONLY = [Row(text, None, "pertanahan", None) for text in LOCAL]


def test_without_the_office_rows_the_word_means_nothing(fewest_samples):
    general = replace(DEFAULT_SETTINGS, office_method="general")
    assert (
        fit(fewest_samples, settings=general, office=SECTOR_ONLY).predict_one(PROBE).sector
        != "pertanahan"
    )


@pytest.mark.parametrize("method", [m for m in METHODS if m != "general"])
def test_every_method_learns_an_office_word_from_sector_only_rows(fewest_samples, method):
    settings = replace(DEFAULT_SETTINGS, office_method=method)
    model = fit(fewest_samples, settings=settings, office=SECTOR_ONLY)
    assert model.predict_one(PROBE).sector == "pertanahan"
    # Every method ends in heads of the usual shape: one model format for all.
    width = (
        len(model.vectorizers.word.vocabulary_)
        + len(model.vectorizers.char.vocabulary_)
        + len(model.vectorizers.phrase.vocabulary_)
    )
    assert model.heads.complaint_coef.shape == (width,)
    assert model.heads.sector_coef.shape[1] == width


def test_an_unknown_method_is_refused_by_name(fewest_samples):
    office = [Row(LOCAL[0], True, "pertanahan", None)]
    with pytest.raises(ValueError, match="unknown office_method 'mix'.*augment"):
        fit(fewest_samples, settings=replace(DEFAULT_SETTINGS, office_method="mix"), office=office)


def write_samples(path, samples) -> None:
    """Samples as the JSON lines `monitor train --samples` and `--blind` read."""
    import json

    fields = ("id", "text", "is_complaint", "sector", "topics")
    path.write_text(
        "".join(json.dumps({f: getattr(s, f) for f in fields}) + "\n" for s in samples),
        encoding="utf-8",
    )


def answer(complaint: bool, sector: str, topics=()) -> Prediction:
    return Prediction(complaint, 0.9 if complaint else 0.1, sector, 0.8, list(topics), {}, False)


def test_office_scores_count_each_head_on_the_rows_that_give_its_answer():
    rows = [
        Row("a", True, "kesehatan", ("pungli",)),
        Row("b", False, None, None),
        Row("c", None, "adminduk", None),  # sector only: scored on the sector
        Row("d", True, "kesehatan", ("penundaan", "pungli")),
    ]
    predictions = [
        answer(True, "kesehatan", ["pungli"]),
        answer(True, "kesehatan"),
        answer(False, "kesehatan"),
        answer(True, "adminduk", ["penundaan"]),
    ]
    scores = office_scores(rows, predictions)
    # complaint on a, b, d: tp 2, fp 1, fn 0 -> 4/5
    assert scores["complaint_f1"] == pytest.approx(0.8)
    assert scores["complaint_f1_rows"] == 3
    # sectors on a, c, d: kesehatan tp 1 fp 1 fn 1 -> 0.5; adminduk tp 0 fp 1 fn 1 -> 0
    assert scores["sector_macro_f1"] == pytest.approx(0.25)
    assert scores["sector_macro_f1_rows"] == 3
    # topics on a and d: tp 2 (pungli on a, penundaan on d), fp 0, fn 1 (pungli on d) -> 4/5
    assert scores["topic_micro_f1"] == pytest.approx(0.8)
    assert scores["topic_micro_f1_rows"] == 2


def test_the_gate_refuses_a_model_trained_on_shuffled_labels_and_passes_a_true_one(
    fewest_samples, office_posts
):
    office = as_office(office_posts)
    active = fit(fewest_samples)
    active_answers = active.predict([r.text for r in office.rows])
    true_answers = held_out_predictions(fewest_samples, office, folds=3)
    passed = gate(office, true_answers, active_answers, set(), "weak")
    assert passed.passed, passed.text()
    assert passed.labels == len(office)
    assert all(h.judged for h in passed.heads)

    shuffled_answers = held_out_predictions(fewest_samples, shuffled(office), folds=3)
    refused = gate(office, shuffled_answers, true_answers, set(), "good")
    assert not refused.passed
    assert refused.reason.startswith("refused: the new model is worse")
    assert "sector macro F1" in refused.reason
    worse = [h for h in refused.heads if h.worse]
    assert worse and all(h.high < 0 for h in worse)


def test_the_gate_compares_only_on_labels_the_active_model_never_saw(office_posts, tmp_path):
    office = as_office(office_posts[:60])
    same = [answer(r.is_complaint, r.sector, r.topics) for r in office.rows]
    write_keys(tmp_path, OfficeSet(office.rows[:20], office.keys[:20]))
    seen = trained_keys(tmp_path)
    assert seen == set(office.keys[:20])
    decision = gate(office, same, same, seen, "active")
    assert decision.labels == 40
    everything = gate(office, same, same, set(office.keys), "active")
    assert not everything.passed
    assert "none is left to compare on" in everything.reason
    assert trained_keys(tmp_path / "no-such-model") == set()


def test_too_few_unseen_labels_cannot_be_judged(office_posts):
    office = as_office(office_posts[:10])
    same = [answer(r.is_complaint, r.sector, r.topics) for r in office.rows]
    decision = gate(office, same, same, set(), "active")
    assert not decision.passed
    assert "too few office labels" in decision.reason
    assert not any(h.judged for h in decision.heads)


# --- the three commands, through the real command line ------------------------------


def test_import_train_activate_refuse_and_roll_back(
    tmp_path, monkeypatch, capsys, fewest_samples, office_posts
):
    """An office goes from its labels to an active model with `monitor train --activate`;
    a second one with nothing new to compare on is refused; rollback goes back."""
    import json

    from monitor.classify.train import train
    from monitor.classify.versions import models_dir
    from monitor.cli import main
    from monitor.config import example_config_text, load_config
    from monitor.labels import TOPICS
    from monitor.office_labels import label_key
    from monitor.store import OfficeLabel, Store

    (tmp_path / "monitor.toml").write_text(example_config_text(), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    config = load_config(tmp_path / "monitor.toml")

    def cli(*args: str) -> int:
        return main(["--config", str(tmp_path / "monitor.toml"), *args])

    # The model in use: a weak one, trained on the fewest samples.
    train(fewest_samples, "weak-1", np.full(len(TOPICS), 0.5)).save(models_dir(config) / "weak-1")
    assert cli("model", "activate", "weak-1") == 0
    labels = [
        OfficeLabel(
            text=s.text,
            is_complaint=s.is_complaint,
            sector=s.sector,
            topics=tuple(s.topics),
            source_file="riwayat.csv",
            source_row=i + 2,
            imported_by="test",
            label_key=label_key(s.text, s.is_complaint, s.sector, tuple(s.topics), None),
        )
        for i, s in enumerate(office_posts)
    ]
    with Store.open(config.database) as store:
        assert store.add_office_labels(labels) == len(labels)
    samples = tmp_path / "samples.jsonl"
    write_samples(samples, fewest_samples)
    # A small blind set of its own keeps the test quick (the model is scored on it).
    everything = sorted(load_samples([blind_set_path()]).samples, key=lambda s: s.id)
    blind = tmp_path / "blind.jsonl"
    write_samples(blind, everything[1::9])
    capsys.readouterr()
    code = cli(
        "train",
        "--samples",
        str(samples),
        "--folds",
        "2",
        "--office-folds",
        "3",
        "--version",
        "office-1",
        "--blind",
        str(blind),
        "--activate",
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"Office labels, 3-fold held out ({len(labels)} labels)" in out
    assert f"Blind set ({len(everything[1::9])} posts written apart)" in out
    assert "| new model (office-1) | active model (weak-1) | keyword rule |" in out
    assert "passed: not worse than the active model weak-1" in out
    # Cross-validation's row: the keyword rule, scored on the samples, stands beside it too.
    keyword_cell = out.split("**Cross-validation on the samples**")[1].splitlines()[1].split("|")[4]
    assert float(keyword_cell) > 0
    folder = models_dir(config) / "office-1"
    assert (folder / "comparison.md").read_text(encoding="utf-8") in out
    card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
    assert card["office_labels"]["count"] == len(labels)
    assert card["metrics"]["office"]["active_version"] == "weak-1"
    with Store.open(config.database) as store:
        active = store.active_model()
    assert active is not None and active.version == "office-1"
    assert "train --activate" in active.reason

    # Every label was used by the active model now: nothing left to judge a new one on.
    code = cli("train", "--samples", str(samples), "--folds", "2", "--activate")
    assert code == 2
    assert "none is left to compare" in capsys.readouterr().err

    assert cli("model", "rollback") == 0
    with Store.open(config.database) as store:
        assert store.active_model().version == "weak-1"


def test_the_comparison_shows_no_figure_for_a_head_no_label_gives_and_notes_a_blind_fall():
    from monitor.classify.build import comparison_table

    def heads(c, s, t):
        return {"complaint_f1": c, "sector_macro_f1": s, "topic_micro_f1": t}

    office_new = {
        **heads(0.0, 0.9, 0.0),
        "complaint_f1_rows": 0,
        "sector_macro_f1_rows": 600,
        "topic_micro_f1_rows": 0,
    }
    card = {
        "version": "new-1",
        "metrics": {
            "blind": {"count": 2764, **heads(0.95, 0.82, 0.80)},
            "active_blind": heads(0.95, 0.93, 0.81),
            "keyword_rule_blind": heads(0.49, 0.67, 0.35),
            "office": {
                "count": 600,
                "folds": 5,
                "new": office_new,
                "active": heads(0.0, 0.86, 0.0),
                "keyword_rule": heads(0.0, 0.63, 0.0),
            },
        },
    }
    table = comparison_table(card)
    assert "| complaint F1 (0 labels) | - | - | - |" in table
    assert "| sector macro F1 (600 labels) | 0.900 | 0.860 | 0.630 |" in table
    assert "sector macro F1 -0.110" in table and "complaint F1 -" not in table.split("lower")[1]
    card["metrics"]["blind"]["sector_macro_f1"] = 0.92
    assert "scores lower" not in comparison_table(card)
