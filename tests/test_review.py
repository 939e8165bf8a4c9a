"""`monitor review export`: a batch of posts to label, chosen uncertain and spread over
sectors and agencies, read back by `monitor labels import`. Real SQLite filled by the
real pipeline with the shipped model; all posts are invented."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
import pytest

from monitor.classify import load_model
from monitor.classify.locate import model_folder, model_version
from monitor.cli import EXIT_USAGE, main
from monitor.config import example_config_text
from monitor.pipeline import run
from monitor.review import COLUMNS, choose_batch, complaint_threshold, uncertainty_key
from monitor.store import ReviewCandidate, Store

TEXTS = [
    "sudah 3 bulan ktp belum jadi di dukcapil kota kupang, tolong",
    "urus kartu keluarga di dukcapil kota kupang disuruh kembali lagi",
    "akta kelahiran anak belum jadi, dukcapil kota kupang sistem offline terus",
    "antre obat di rsud sk lerik dari pagi, petugas judes sekali",
    "rsud sk lerik pasien bpjs ditolak, disuruh bayar dulu",
    "dokter di rsud sk lerik tidak ada, pasien terlantar di igd",
    "air pdam kota kupang mati sudah seminggu di oebobo, tolong",
    "pdam kupang air keruh dan bau, tagihan naik terus",
    "listrik pln padam lagi di kupang tanpa pemberitahuan",
    "token pln kupang error, petugas tidak bisa dihubungi",
    "jalan di liliba berlubang besar sonde diperbaiki dinas pu",
    "lampu jalan di el tari mati semua, dinas pu kota kupang diam saja",
    "sekolah minta pungutan uang seragam, dinas pendidikan kota kupang tolong cek",
    "guru honorer belum terima gaji tiga bulan di kota kupang",
    "polisi minta uang damai waktu tilang di jalan el tari kupang",
    "sampah menumpuk di pasar oebobo, dinas lingkungan hidup kemana",
    "terima kasih dukcapil kota kupang, ktp saya cepat jadi",
    "selamat pagi kupang, cuaca cerah hari ini",
    "mantap pelayanan rsud sk lerik sekarang sudah lebih baik",
    "ada yang tahu jadwal bus damri ke soe besok",
    "nonton bola malam ini di kupang seru sekali",
    "pdam kupang terima kasih air sudah lancar lagi",
    "pelayanan pln kupang cepat tanggap, mantap",
    "jalan baru di penfui bagus, terima kasih pemkot",
    "beta mau tanya syarat bikin paspor di kupang apa saja",
    "ktp hilang, hubungi sa di 081234567890 kalau ketemu, dukcapil kota kupang lambat",
]


def replay(tmp_path: Path, texts: list[str]) -> Path:
    path = tmp_path / "replay.jsonl"
    with path.open("a", encoding="utf-8") as handle:
        for i, text in enumerate(texts):
            line = {"id": f"p{i}", "days_ago": i % 5 + 1, "time": "09:00", "text": text}
            handle.write(json.dumps(line) + "\n")
    return path


@pytest.fixture(scope="module")
def shipped_model():
    return load_model()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch):
    (tmp_path / "monitor.toml").write_text(example_config_text(), encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    def run_cli(*args: str) -> int:
        return main(["--config", str(tmp_path / "monitor.toml"), *args])

    return run_cli


@pytest.fixture
def database(tmp_path: Path, config, shipped_model) -> Path:
    """The invented posts collected, analysed and stored by the real pipeline."""
    from monitor.config import SourceConfig

    assert shipped_model.version == model_version()
    config.database = tmp_path / "monitor.db"
    path = replay(tmp_path, TEXTS)
    config.sources = [SourceConfig(name="r", type="replay", path=str(path), region="kota-kupang")]
    run(config, model=shipped_model)
    return config.database


def read_csv(path: Path) -> list[dict[str, str]]:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel opens UTF-8 right
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def candidates(database: Path) -> list[ReviewCandidate]:
    with Store.open(database) as store:
        return list(store.review_candidates(model_version()))


def office_texts(database: Path) -> list[str]:
    with Store.open(database) as store:
        return [label.text for label in store.office_labels()]


def test_the_batch_is_the_most_uncertain_of_each_group_spread_over_sectors(
    cli, database, tmp_path, capsys
):
    out_file = tmp_path / "tinjau.csv"
    assert cli("review", "export", str(out_file), "--n", "8") == 0
    rows = read_csv(out_file)
    assert list(rows[0]) == list(COLUMNS)
    assert len(rows) == 8
    every = candidates(database)
    threshold = complaint_threshold()
    # the shipped card's, read without loading the model
    card = json.loads((model_folder() / "card.json").read_text(encoding="utf-8"))
    assert threshold == card["thresholds"]["complaint"]
    message = capsys.readouterr().out
    assert f"wrote 8 posts to {out_file} (from {len(every)} candidates; sectors: " in message

    chosen = [int(row["post_id"]) for row in rows]
    by_id = {post.post_id: post for post in every}
    # the most uncertain post of all comes first
    assert chosen[0] == min(every, key=lambda p: uncertainty_key(p, threshold)).post_id
    # spread: several sectors and agencies, not just the lowest scores
    assert len({row["sector"] for row in rows}) >= 3
    assert len({row["agency"] for row in rows}) >= 2
    lowest = sorted(every, key=lambda p: (p.complaint_score, p.post_id))[:8]
    assert set(chosen) != {post.post_id for post in lowest}
    # within each (sector, agency) group, what is taken is that group's most uncertain
    for group in {(by_id[i].sector, by_id[i].agency_id) for i in chosen}:
        members = sorted(
            (p for p in every if (p.sector, p.agency_id) == group),
            key=lambda p: uncertainty_key(p, threshold),
        )
        taken = [i for i in chosen if (by_id[i].sector, by_id[i].agency_id) == group]
        assert taken == [p.post_id for p in members[: len(taken)]]
    # the model's answers are pre-filled, with context the import does not read
    for row in rows:
        post = by_id[int(row["post_id"])]
        assert row["is_complaint"] == str(int(post.is_complaint))
        assert (row["sector"], row["agency"]) == (post.sector, post.agency_id)
        assert row["topics"] == ";".join(post.topics)
        assert row["model_version"] == model_version()
        assert row["created_at"].endswith(" WITA")
        assert abs(float(row["model_complaint_score"]) - post.complaint_score) < 0.001
    # the same database gives the same batch
    again = tmp_path / "again.csv"
    assert cli("review", "export", str(again), "--n", "8") == 0
    assert [row["post_id"] for row in read_csv(again)] == [row["post_id"] for row in rows]


def test_texts_are_the_redacted_ones(cli, database, tmp_path):
    out_file = tmp_path / "tinjau.csv"
    assert cli("review", "export", str(out_file), "--n", str(len(TEXTS))) == 0
    texts = [row["text"] for row in read_csv(out_file)]
    assert len(texts) == len(TEXTS)
    [phone] = [text for text in texts if text.startswith("ktp hilang")]
    assert "[TELEPON]" in phone and "081234567890" not in phone
    assert not any("0812" in text for text in texts)


def write_csv(path, rows) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows)


def mark_reviewed(path, rows=None) -> None:
    """What a person does in the spreadsheet once every row is checked."""
    rows = read_csv(path) if rows is None else rows
    for row in rows:
        row["reviewed"] = "ya"
    write_csv(path, rows)


def test_export_edit_one_cell_and_import_reads_it_back(cli, database, tmp_path, capsys):
    out_file = tmp_path / "tinjau.csv"
    assert cli("review", "export", str(out_file), "--n", "5") == 0
    rows = read_csv(out_file)
    assert all(row["reviewed"] == "" for row in rows)  # nobody has checked them yet
    rows[0]["sector"] = "lainnya" if rows[0]["sector"] != "lainnya" else "adminduk"
    for row in rows[:3]:
        row["reviewed"] = "ya"
    rows[3]["reviewed"] = "sudah"  # not a yes/no: named with its line, never a crash
    # the fifth is left unchecked
    edited = tmp_path / "tinjau_selesai.csv"
    write_csv(edited, rows)
    capsys.readouterr()
    assert cli("labels", "import", str(edited)) == 0
    out = capsys.readouterr().out
    assert "5 rows read, 3 labels stored, 0 already imported, 1 rejected" in out
    assert "1 rows not marked reviewed were skipped" in out
    assert "tinjau_selesai.csv:5: reviewed 'sudah' is not 1/0, true/false, ya/tidak or y/n" in out
    assert "columns not read: post_id, url, created_at, model_complaint_score, model_version" in out
    with Store.open(database) as store:
        labels = {label.text: label for label in store.office_labels()}
    assert rows[4]["text"] not in labels  # an unchecked row never becomes a label
    first = labels[rows[0]["text"]]
    assert first.sector == rows[0]["sector"]  # the edit
    assert first.is_complaint == (rows[0]["is_complaint"] == "1")
    assert first.agency == (rows[0]["agency"] or None)
    assert first.topics == (tuple(rows[0]["topics"].split(";")) if rows[0]["topics"] else None)


def test_posts_already_labelled_are_never_exported(cli, database, tmp_path, capsys):
    first = tmp_path / "batch1.csv"
    assert cli("review", "export", str(first), "--n", "10") == 0
    mark_reviewed(first)
    assert cli("labels", "import", str(first)) == 0
    labelled = set(office_texts(database))
    assert len(labelled) == 10
    # a label stored for a post in the labels table counts too
    remaining = [p for p in candidates(database) if p.text_display not in labelled]
    with Store.open(database) as store, store.transaction():
        store.db.execute(
            "INSERT INTO labels (post_id, field, value, created_at) "
            "VALUES (?, 'sector', 'adminduk', '2026-11-20T00:00:00Z')",
            [remaining[0].post_id],
        )
    capsys.readouterr()
    second = tmp_path / "batch2.csv"
    assert cli("review", "export", str(second), "--n", "200") == 0
    rows = read_csv(second)
    assert len(rows) == len(TEXTS) - 11
    assert f"(from {len(TEXTS) - 11} candidates;" in capsys.readouterr().out
    assert not labelled & {row["text"] for row in rows}
    assert str(remaining[0].post_id) not in {row["post_id"] for row in rows}


def test_xlsx_export_is_readable_and_imports_back(cli, database, tmp_path, capsys):
    out_file = tmp_path / "tinjau.xlsx"
    assert cli("review", "export", str(out_file), "--n", "6") == 0
    workbook = openpyxl.load_workbook(out_file)
    values = list(workbook.worksheets[0].iter_rows(values_only=True))
    assert values[0] == COLUMNS
    assert len(values) == 7
    csv_file = tmp_path / "tinjau.csv"
    assert cli("review", "export", str(csv_file), "--n", "6") == 0
    assert [str(row[COLUMNS.index("post_id")]) for row in values[1:]] == [
        row["post_id"] for row in read_csv(csv_file)
    ]
    capsys.readouterr()
    # Unchecked, the batch stores nothing, and says why.
    assert cli("labels", "import", str(out_file)) == 2
    said = capsys.readouterr()
    assert "6 rows not marked reviewed were skipped" in said.out
    assert "no row is marked reviewed" in said.err
    sheet = workbook.worksheets[0]
    for row in range(2, 8):
        sheet.cell(row=row, column=COLUMNS.index("reviewed") + 1, value="ya")
    workbook.save(out_file)
    assert cli("labels", "import", str(out_file)) == 0
    assert "6 rows read, 6 labels stored" in capsys.readouterr().out


def test_unknown_extension_or_no_database_exits_2(cli, tmp_path, capsys):
    assert cli("review", "export", str(tmp_path / "tinjau.txt")) == EXIT_USAGE
    assert "write the batch to a .csv or .xlsx file" in capsys.readouterr().err
    assert cli("review", "export", str(tmp_path / "tinjau.csv")) == EXIT_USAGE
    assert "no database" in capsys.readouterr().err
    assert not (tmp_path / "monitor.db").exists()
    assert not (tmp_path / "tinjau.csv").exists()


def _post(post_id: int, score: float, sector: str, agency: str = "", flagged: bool = False):
    return ReviewCandidate(
        post_id=post_id,
        url="",
        created_at="2026-11-20T01:00:00Z",
        text_display=f"keluhan nomor {post_id}",
        is_complaint=score >= 0.5,
        complaint_score=score,
        sector=sector,
        topics=(),
        agency_id=agency,
        needs_review=flagged,
    )


def test_round_robin_over_groups_each_most_uncertain_first():
    posts = [
        _post(1, 0.50, "adminduk", "capil"),
        _post(2, 0.55, "adminduk", "capil"),
        _post(3, 0.48, "adminduk", "capil"),
        _post(4, 0.10, "kesehatan", "rsud"),
        _post(5, 0.95, "kesehatan", "rsud"),
        _post(6, 0.70, "air_bersih", "pdam"),
        _post(7, 0.99, "listrik", "pln", flagged=True),
        _post(8, 0.50, "adminduk", ""),  # same sector, no agency: its own group
    ]
    batch = choose_batch(posts, ["KELUHAN  nomor 2"], threshold=0.5, n=6)
    # 7 is flagged; then the groups by their most uncertain post (1 before 8 by id);
    # post 2's text is labelled already (case and spaces aside)
    assert [p.post_id for p in batch.posts] == [7, 1, 8, 6, 4, 3]
    assert batch.candidates == 7
    assert batch.sectors() == [("adminduk", 3), ("air_bersih", 1), ("kesehatan", 1), ("listrik", 1)]
    # the order posts come in does not matter; without the label, 3 is still before 2
    unlabelled = choose_batch(list(reversed(posts)), [], 0.5, 6)
    assert [p.post_id for p in unlabelled.posts] == [7, 1, 8, 6, 4, 3]
    assert choose_batch(posts, [], 0.5, 0).candidates == 8
