"""The classifier: training, safe saving and loading, prediction, evaluation, batch use."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from monitor.classify import load_model
from monitor.classify.batch import classify_stream
from monitor.classify.evaluate import cross_validate, evaluate_model, to_html, to_markdown
from monitor.classify.model import (
    CARD_FILE,
    VOCABULARY_FILE,
    WEIGHTS_FILE,
    ModelError,
    TextModel,
    _analyzer_ids,
    char_ngrams,
    fast_transform,
    sha256_of,
    shipped_model_dir,
)
from monitor.classify.samples import load_samples, near_duplicate_groups, samples_dir
from monitor.classify.train import fit, train
from monitor.cli import main
from monitor.labels import SECTORS, TOPICS

# small_samples and small_model (trained once per session) come from tests/conftest.py;
# fewest_samples has about one sample per sector, which scikit-learn remarks on.
FEW_PER_CLASS = pytest.mark.filterwarnings("ignore:The number of unique classes:UserWarning")


@FEW_PER_CLASS
def test_the_same_samples_give_the_same_files_byte_for_byte(fewest_samples, tmp_path):
    """Training twice is the point here, so it trains on the fewest samples that still
    fit every head (every sector, every topic), in two orders."""
    a = train(fewest_samples, "v", np.full(len(TOPICS), 0.5))
    b = train(list(reversed(fewest_samples)), "v", np.full(len(TOPICS), 0.5))
    assert a.heads.sectors == sorted(SECTORS) and a.heads.topics == list(TOPICS)
    a.save(tmp_path / "a")
    b.save(tmp_path / "b")
    for name in (VOCABULARY_FILE, WEIGHTS_FILE):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_save_and_load_give_the_same_predictions(small_model, tmp_path):
    texts = ["ktp sy blm jadi udh 3 bulan", "terima kasih petugas puskesmas", "jalan rusak parah"]
    small_model.save(tmp_path / "m")
    loaded = TextModel.load(tmp_path / "m")
    assert loaded.version == "test-small"
    assert loaded.predict(texts) == small_model.predict(texts)
    card = json.loads((tmp_path / "m" / CARD_FILE).read_text())
    assert card["files"][WEIGHTS_FILE] == sha256_of(tmp_path / "m" / WEIGHTS_FILE)
    assert card["labels"]["topics"] == list(TOPICS)


def test_a_tampered_model_file_is_refused(small_model, tmp_path):
    folder = tmp_path / "m"
    small_model.save(folder)
    weights = bytearray((folder / WEIGHTS_FILE).read_bytes())
    weights[len(weights) // 2] ^= 0xFF
    (folder / WEIGHTS_FILE).write_bytes(bytes(weights))
    with pytest.raises(ModelError, match="does not match its card"):
        TextModel.load(folder)


def test_a_file_from_another_model_is_refused(small_model, tmp_path):
    small_model.save(tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    card = json.loads((tmp_path / "b" / CARD_FILE).read_text())
    card["files"][VOCABULARY_FILE] = "0" * 64
    (tmp_path / "b" / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(ModelError, match="vocabulary.json does not match"):
        TextModel.load(tmp_path / "b")
    with pytest.raises(ModelError, match="not a model folder"):
        TextModel.load(tmp_path)


def test_a_pickle_inside_the_weights_is_never_loaded(small_model, tmp_path):
    """Even with a matching hash (an attacker who also edits the card), no unpickling."""
    folder = tmp_path / "m"
    small_model.save(folder)
    np.savez(folder / WEIGHTS_FILE, word_idf=np.array([{"evil": 1}], dtype=object))
    card = json.loads((folder / CARD_FILE).read_text())
    card["files"][WEIGHTS_FILE] = sha256_of(folder / WEIGHTS_FILE)
    (folder / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(ValueError, match="allow_pickle"):
        TextModel.load(folder)


def test_the_shipped_model_loads_matches_its_card_and_is_small():
    folder = shipped_model_dir()
    assert folder is not None, "models/<version>/ must ship with the package"
    model = load_model()
    assert isinstance(model, TextModel) and model.version == folder.name
    size = sum(f.stat().st_size for f in folder.iterdir())
    assert size < 20 * 1024 * 1024
    # regression floors on the blind set (posts never trained on); the card says more
    blind = model.card["metrics"]["blind"]
    assert blind["complaint_f1"] >= 0.90
    assert blind["sector_macro_f1"] >= 0.85
    assert blind["topic_micro_f1"] >= 0.70
    assert (folder / "MODEL_CARD.md").exists() and (folder / "evaluation.html").exists()


def test_the_shipped_model_was_trained_on_the_committed_samples():
    """Training is reproducible from labeled_samples/: the card's hash of the samples is
    the hash of the samples in the tree (retrain after changing them)."""
    from monitor.classify.samples import load_samples, samples_dir
    from monitor.classify.train import samples_sha256

    samples = load_samples(sorted(samples_dir().glob("*.jsonl"))).samples
    card = load_model().card["samples"]
    assert card["count"] == len(samples)
    assert card["sha256"] == samples_sha256(samples)


def test_predictions_have_every_field_and_valid_labels(small_model):
    [result] = small_model.predict(["Sudah 3 bulan KTP belum jadi, petugas bilang blanko habis"])
    assert result.sector in SECTORS
    assert set(result.topics) <= set(TOPICS)
    assert 0.0 <= result.complaint_score <= 1.0 and 0.0 <= result.sector_score <= 1.0
    assert set(result.topic_scores) == set(result.topics)
    assert small_model.predict([]) == []


def test_cross_validation_keeps_near_duplicates_in_one_fold(small_samples):
    from monitor.classify.train import group_folds
    from monitor.text.shingles import comparable, shingles

    # a copy with a word added; texts too short to be anyone's copy are left out
    originals = [s for s in small_samples if comparable(shingles(s.text))][:40]
    twins = (
        originals
        + [
            type(s)(
                id=s.id + "-copy",
                text=s.text + " tolong",
                is_complaint=s.is_complaint,
                sector=s.sector,
                topics=s.topics,
            )
            for s in originals
        ]
        + [s for s in small_samples if s not in originals]
    )
    groups = near_duplicate_groups([s.text for s in twins])
    fold_of = {}
    for number, (_, test) in enumerate(group_folds(twins, 4)):
        for i in test:
            fold_of[twins[i].id] = number
    assert all(fold_of[s.id] == fold_of[s.id + "-copy"] for s in originals)
    assert all(groups[k] == groups[len(originals) + k] for k in range(len(originals)))


def test_cross_validate_and_reports(small_samples):
    evaluation, thresholds = cross_validate(small_samples, folds=3)
    assert len(thresholds) == len(TOPICS)
    assert 0.5 < evaluation.complaint.f1 <= 1.0 and evaluation.count == len(small_samples)
    # sectors are scored on the true complaints
    assert sum(map(sum, evaluation.confusion)) == sum(s.is_complaint for s in small_samples)
    assert sum(n for _, n, _, _ in evaluation.reliability) == len(small_samples)
    markdown = to_markdown(evaluation, "x")
    assert "## Sector confusion matrix" in markdown and "Brier" in markdown
    page = to_html(evaluation, "x")
    assert "<table>" in page and "<script" not in page


def test_evaluate_on_other_data_reports_per_label(small_model):
    samples = sorted(load_samples(samples_dir().glob("*.jsonl")).samples, key=lambda s: s.id)[1::40]
    evaluation = evaluate_model(small_model, samples, "held out")
    assert evaluation.source == "held out" and evaluation.count == len(samples)
    assert {s.label for s in evaluation.sectors} == set(SECTORS)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abcdeéü ktp-2\n\t", max_size=40))
def test_cached_char_ngrams_equal_scikit_learns_char_wb(text):
    reference = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), lowercase=False)
    assert sorted(char_ngrams(text)) == sorted(reference.build_analyzer()(text))


ODD_TEXTS = [
    "",
    "   ",
    "😡😡😡",
    "KTP KTP KTP ktp ktp belum jadi jadi jadi",
    "<b>RSUD</b> obat habis!!! https://x.co/a #PelayananBuruk @dukcapil_kota 0812 3456 7890",
    "kata " * 3000,
    "Ünïcödé café naïve — ½ ² ⁂",
]


def _views(model, texts):
    v = model.vectorizers
    from monitor.text.normalize import clean, normalize

    return [
        (v.word, [v.word_input(t) for t in texts]),
        (v.char, [clean(t) for t in texts]),
        (v.phrase, [normalize(t) for t in texts]),
    ]


@pytest.mark.parametrize("which", ["shipped", "small"])
def test_fast_features_equal_scikit_learns_transform(which, small_model, small_samples):
    """Vectorizers.matrix counts features its own way (fast_transform); every view
    must equal scikit-learn's own transform, and so must every prediction."""
    model = load_model(shipped_model_dir()) if which == "shipped" else small_model
    texts = [s.text for s in small_samples] + ODD_TEXTS
    for vectorizer, docs in _views(model, texts):
        analyze = _analyzer_ids(vectorizer)
        assert analyze is not None  # the fast path is taken, so this compares something
        fast = fast_transform(vectorizer, docs, analyze)
        reference = vectorizer.transform(docs)
        assert fast.shape == reference.shape
        assert (fast != reference).nnz == 0 or np.allclose(
            fast.toarray(), reference.toarray(), rtol=1e-6, atol=1e-7
        )
        assert np.array_equal(fast.indptr, reference.indptr)
    reference_matrix = sparse.hstack([v.transform(d) for v, d in _views(model, texts)]).tocsr()
    scores = model.heads.scores(model.vectorizers.matrix(texts))
    expected = model.heads.scores(reference_matrix)
    for got, want in zip(scores, expected, strict=True):
        assert np.allclose(got, want, rtol=1e-5, atol=1e-6)


# --- batch classification --------------------------------------------------------------


def test_classify_stream_reads_region_and_author(config):
    """The source's region picks among agencies sharing a short name, and a post by an
    agency's own handle is tied to it but is never a complaint."""
    from monitor.agencies import Gazetteer

    pdam = next(a for a in config.agencies if a.id == "pdam-kota-kupang")
    pdam.handles = ["@pdam_contoh"]
    gazetteer = Gazetteer(config.agencies, config.regions)
    apology = "Mohon maaf air mati di Oebobo karena pipa bocor, sedang diperbaiki -Admin"
    lines = [
        {"id": "1", "text": "capil lambat, ktp sy blm jadi 3 bulan", "region": "kab-kupang"},
        {"id": "2", "text": "capil lambat, ktp sy blm jadi 3 bulan"},
        {"id": "3", "text": apology, "author": "@PDAM_contoh"},
        {"id": "4", "text": "air pdam mati 3 hari di oebobo, tolong", "author": "warga"},
    ]
    sink = io.StringIO()
    source = io.BytesIO("".join(json.dumps(x) + "\n" for x in lines).encode())
    classify_stream(source, sink, load_model(), gazetteer, "jsonl")
    out = {r["id"]: r for r in map(json.loads, sink.getvalue().splitlines())}
    assert (out["1"]["agency"], out["1"]["region"]) == ("disdukcapil-kab-kupang", "kab-kupang")
    assert out["2"]["agency"] == "" and out["2"]["region"] == ""
    assert (out["3"]["agency"], out["3"]["is_complaint"]) == ("pdam-kota-kupang", False)
    assert (out["4"]["agency"], out["4"]["is_complaint"]) == ("pdam-kota-kupang", True)
    assert out["3"]["agency_evidence"].startswith("akun resmi")


def test_classify_stream_jsonl_skips_bad_lines_and_passes_fields(small_model, config):
    from monitor.agencies import Gazetteer

    lines = [
        json.dumps({"id": "1", "text": "capil kota kupang lambat, ktp blm jadi", "kota": "Kupang"}),
        "{broken",
        json.dumps({"id": "2"}),
        json.dumps({"id": "3", "text": "terima kasih PLN"}),
    ]
    source = io.BytesIO(("\n".join(lines) + "\n").encode() + b"\xff\xfe\n")
    sink = io.StringIO()
    bad = []
    gazetteer = Gazetteer(config.agencies, config.regions, config.default_region)
    report = classify_stream(
        source, sink, small_model, gazetteer, "jsonl", lambda n, r: bad.append((n, r))
    )
    rows = [json.loads(line) for line in sink.getvalue().splitlines()]
    assert [r["id"] for r in rows] == ["1", "3"]
    assert rows[0]["kota"] == "Kupang" and "text" not in rows[0]
    assert rows[0]["agency"] == "disdukcapil-kota-kupang"
    assert rows[0]["model_version"] == "test-small"
    assert [n for n, _ in bad] == [2, 3, 5]
    assert (report.read, report.classified, report.rejected) == (5, 2, 3)


def test_classify_command_csv_in_and_out(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text(
        "id,text,kanal\n"
        "a,Sudah 2 bulan KTP belum jadi di dukcapil,fb\n"
        "b,too,many,columns\n"
        'c,"Air PDAM mati 3 hari, tolong",wa\n',
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    assert main(["classify", "--input", str(src), "--output", str(out), "--format", "csv"]) == 0
    import csv

    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["id"] for r in rows] == ["a", "c"]
    assert rows[0]["kanal"] == "fb" and rows[0]["is_complaint"] == "True"
    assert rows[1]["sector"] == "air_bersih"
    assert "in.csv:3: skipped" in capsys.readouterr().err


def test_classify_streams_without_holding_everything(tmp_path, monkeypatch):
    """Chunks are classified as they fill: the model never sees more than one chunk."""
    import monitor.classify.batch as batch

    monkeypatch.setattr(batch, "CHUNK", 7)
    seen = []

    class Recorder:
        version = "r"
        description = "r"

        def predict(self, texts):
            seen.append(len(texts))
            return load_model().predict(texts)

    from monitor.agencies import Gazetteer

    source = io.BytesIO(
        "".join(
            json.dumps({"id": i, "text": f"ktp belum jadi {i}"}) + "\n" for i in range(30)
        ).encode()
    )
    sink = io.StringIO()
    classify_stream(source, sink, Recorder(), Gazetteer([], []), "jsonl")
    assert max(seen) == 7 and sum(seen) == 30
    assert len(sink.getvalue().splitlines()) == 30


def test_evaluate_command_with_data(tmp_path, capsys):
    data = tmp_path / "held.jsonl"
    data.write_text(
        json.dumps(
            {
                "id": "h1",
                "text": "Sudah sebulan KTP belum jadi",
                "is_complaint": True,
                "sector": "adminduk",
                "topics": ["penundaan"],
            }
        )
        + "\n"
        + json.dumps(
            {
                "id": "h2",
                "text": "Jadwal buka layanan Sabtu",
                "is_complaint": False,
                "sector": "adminduk",
                "topics": [],
            }
        )
        + "\n",
        encoding="utf-8",
    )
    assert main(["evaluate", "--data", str(data), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "complaint f1" in out and "Sector confusion matrix" in out
    assert list(tmp_path.glob("evaluation-*.html"))


def test_train_command_refuses_invalid_samples(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps({"id": "x", "text": "t", "is_complaint": True, "sector": "nope", "topics": []})
        + "\n"
    )
    assert main(["train", "--samples", str(bad), "--out", str(tmp_path / "m")]) == 2
    assert "unknown sector 'nope'" in capsys.readouterr().err


@FEW_PER_CLASS
def test_fit_is_usable_without_a_card(fewest_samples):
    model = fit(fewest_samples)
    assert model.version == "unsaved" and len(model.predict(["a"])) == 1


def test_setup_cfg_installs_the_shipped_model():
    import configparser

    parser = configparser.ConfigParser()
    parser.read(Path(__file__).resolve().parents[1] / "setup.cfg")
    folder = shipped_model_dir()
    assert f"share/monitor/models/{folder.name}" in parser["options.data_files"]


# --- issue 13: one bad line never stops `monitor classify` ------------------------------


def test_classify_stream_rejects_deep_nesting_and_lone_surrogates_by_line(small_model, config):
    """A 100,000-`[` line and lines with a lone surrogate (in the text, in a passed-through
    field) are skipped with their numbers; every good line is classified and written to
    a strict UTF-8 output, as `monitor classify --output FILE` writes it."""
    from monitor.agencies import Gazetteer

    good = [{"id": str(i), "text": f"jalan rusak di oebobo ke-{i}"} for i in range(1, 6)]
    lines = [
        json.dumps(good[0]),
        "[" * 100_000,
        json.dumps(good[1]),
        json.dumps({"id": "cut", "text": "air mati \ud83d"}),
        json.dumps(good[2]),
        json.dumps({"id": "cut2", "text": "lampu mati", "kanal": "fb \udc00"}),
        json.dumps(good[3]),
        json.dumps(good[4]),
    ]
    source = io.BytesIO(("\n".join(lines) + "\n").encode("utf-8"))
    raw = io.BytesIO()
    sink = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    bad = []
    gazetteer = Gazetteer(config.agencies, config.regions, config.default_region)
    report = classify_stream(
        source, sink, small_model, gazetteer, "jsonl", lambda n, r: bad.append((n, r))
    )
    sink.flush()
    out = [json.loads(line) for line in raw.getvalue().decode("utf-8").splitlines()]
    assert [r["id"] for r in out] == ["1", "2", "3", "4", "5"]
    assert [n for n, _ in bad] == [2, 4, 6]
    assert "nested too deeply" in bad[0][1] and "U+D83D" in bad[1][1] and "kanal" in bad[2][1]
    assert (report.read, report.classified, report.rejected) == (8, 5, 3)


def test_classify_command_reads_excel_csv_utf8_with_its_byte_order_mark(tmp_path, capsys):
    # Excel's "CSV UTF-8" starts with a BOM; read naively, the first column is named
    # "\ufeffid" and every row is refused for lacking an id.
    src = tmp_path / "excel.csv"
    src.write_bytes(
        "\ufeffid;text\r\nx1;KTP belum jadi sudah 3 bulan di dukcapil\r\n".encode("utf-8")
    )
    out = tmp_path / "out.csv"
    assert main(["classify", "--input", str(src), "--output", str(out), "--format", "csv"]) == 0
    import csv

    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["id"] for r in rows] == ["x1"] and rows[0]["sector"] == "adminduk"
    assert "1 classified, 0 skipped" in capsys.readouterr().err


def test_classify_command_csv_recovers_after_a_stray_quote(tmp_path, capsys):
    src = tmp_path / "in.csv"
    rows = [f"r{i},Sudah {i} hari KTP belum jadi di dukcapil,fb" for i in range(1, 203)]
    rows[1] = 'r2,"Air PDAM mati 3 hari, tolong,wa'  # line 3: the quote is never closed
    src.write_text("id,text,kanal\n" + "\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    assert main(["classify", "--input", str(src), "--output", str(out), "--format", "csv"]) == 0
    import csv

    ids = [r["id"] for r in csv.DictReader(out.open(encoding="utf-8"))]
    assert ids == [f"r{i}" for i in range(1, 203) if i != 2]
    err = capsys.readouterr().err
    assert "in.csv:3: skipped: not readable as CSV" in err
    assert err.count(": skipped:") == 1 and "201 classified, 1 skipped" in err


def test_classify_csv_writes_formula_cells_as_text(tmp_path):
    """A passed-through cell such as =HYPERLINK(...) must not run in a spreadsheet."""
    import csv as csv_module

    source = tmp_path / "in.csv"
    source.write_text(
        'id,text,catatan\n=1+1,"ktp belum jadi 3 bulan",=HYPERLINK("http://contoh.invalid")\n'
        "2,air mati,@petugas\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    assert main(["classify", "--input", str(source), "--output", str(out), "--format", "csv"]) == 0
    rows = list(csv_module.DictReader(out.open(encoding="utf-8")))
    assert rows[0]["id"] == "'=1+1"
    assert rows[0]["catatan"] == '\'=HYPERLINK("http://contoh.invalid")'
    assert rows[1]["catatan"] == "'@petugas" and rows[1]["id"] == "2"
