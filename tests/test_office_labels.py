"""`monitor labels import|list|export`: an office's own labelled records, through the real
command line into a real SQLite file. All texts are invented."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from monitor.cli import EXIT_USAGE, main
from monitor.config import example_config_text
from monitor.store import Store

ROWS = [
    ("KTP el sudah 3 bulan belum jadi di Dukcapil Kota Kupang", "ya", "adminduk", "penundaan"),
    (
        "antre obat di RSUD S.K. Lerik dari pagi, petugas judes",
        "1",
        "rumah_sakit",
        "antrean;sikap_petugas",
    ),
    ("Terima kasih PDAM, air su mengalir lancar di Oebobo", "tidak", "air_bersih", ""),
    (
        "jalan di Liliba berlubang besar, sonde diperbaiki",
        "true",
        "pekerjaan_umum",
        "fasilitas_rusak",
    ),
]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch):
    """Run `monitor` with the example config (no sources) in tmp_path; returns (exit, out)."""
    (tmp_path / "monitor.toml").write_text(example_config_text(), encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> int:
        return main(["--config", str(tmp_path / "monitor.toml"), *args])

    return run


def stored(path: Path) -> list[tuple]:
    with Store.open(path) as store:
        return sorted(
            (label.text, label.is_complaint, label.sector, label.topics, label.agency)
            for label in store.office_labels()
        )


def write_csv(path: Path, lines: list[str], bom: bool = False) -> Path:
    data = "\n".join(lines) + "\n"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data.encode("utf-8"))
    return path


def rows_csv(path: Path, separator: str = ",", bom: bool = False) -> Path:
    lines = [separator.join(["text", "is_complaint", "sector", "topics"])]
    for text, complaint, sector, topics in ROWS:
        topics = f'"{topics}"' if separator in topics else topics
        lines.append(separator.join([f'"{text}"', complaint, sector, topics]))
    return write_csv(path, lines, bom)


def test_csv_import_stores_each_row_with_where_and_who(cli, tmp_path, capsys):
    path = rows_csv(tmp_path / "riwayat.csv")
    assert cli("labels", "import", str(path), "--by", "Maria") == 0
    out = capsys.readouterr().out
    assert "riwayat.csv: 4 rows read, 4 labels stored, 0 already imported, 0 rejected" in out
    labels = stored(tmp_path / "monitor.db")
    assert labels[0] == (ROWS[0][0], True, "adminduk", ("penundaan",), None)
    assert (ROWS[1][0], True, "rumah_sakit", ("antrean", "sikap_petugas"), None) in labels
    assert (ROWS[2][0], False, "air_bersih", None, None) in labels
    with Store.open(tmp_path / "monitor.db") as store:
        first = next(iter(store.office_labels()))
        assert (first.source_file, first.source_row, first.imported_by) == (
            "riwayat.csv",
            2,
            "Maria",
        )
        assert first.imported_at.endswith("Z") and len(first.source_sha256) == 64
        runs = store.db.execute("SELECT command, status, processed FROM runs").fetchall()
    assert runs == [("labels import", "ok", 4)]


def test_importing_twice_adds_nothing(cli, tmp_path, capsys):
    path = rows_csv(tmp_path / "riwayat.csv")
    assert cli("labels", "import", str(path)) == 0
    assert cli("labels", "import", str(path)) == 0
    assert "4 rows read, 0 labels stored, 4 already imported, 0 rejected" in capsys.readouterr().out
    # a re-saved copy (other separator, BOM, other line endings, other name) is the same rows
    copy = rows_csv(tmp_path / "riwayat_lagi.csv", separator=";", bom=True)
    assert cli("labels", "import", str(copy)) == 0
    assert "0 labels stored, 4 already imported" in capsys.readouterr().out
    assert len(stored(tmp_path / "monitor.db")) == 4


def test_excel_csv_with_bom_and_semicolons(cli, tmp_path, capsys):
    path = rows_csv(tmp_path / "excel.csv", separator=";", bom=True)
    assert cli("labels", "import", str(path)) == 0
    assert "4 labels stored" in capsys.readouterr().out
    assert (ROWS[1][0], True, "rumah_sakit", ("antrean", "sikap_petugas"), None) in stored(
        tmp_path / "monitor.db"
    )


def test_jsonl_import_with_lists_and_booleans(cli, tmp_path, capsys):
    path = tmp_path / "label.jsonl"
    lines = [
        {"text": "pungli di kantor kelurahan Oesapa", "is_complaint": True, "topics": ["pungli"]},
        {"text": "listrik padam 6 jam di Kupang", "sector": "listrik", "agency": "PLN UP3 Kupang"},
        {"text": "bukan keluhan", "is_complaint": 0},
    ]
    path.write_text(
        "\n".join(json.dumps(line) for line in lines) + "\n{broken\n[1, 2]\n", encoding="utf-8"
    )
    assert cli("labels", "import", str(path)) == 0
    out = capsys.readouterr().out
    assert "5 rows read, 3 labels stored, 0 already imported, 2 rejected" in out
    assert "label.jsonl:4: not valid JSON" in out
    assert "label.jsonl:5: not a JSON object" in out
    labels = stored(tmp_path / "monitor.db")
    assert ("pungli di kantor kelurahan Oesapa", True, None, ("pungli",), None) in labels
    assert ("bukan keluhan", False, None, None, None) in labels
    [pln] = [label for label in labels if label[0].startswith("listrik")]
    assert pln[4] and pln[4].startswith("pln")  # the agency's name resolved to its id


def test_xlsx_with_column_names_and_category_map(cli, tmp_path, capsys):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["No", "Uraian Laporan", "Kategori", "Instansi"])
    sheet.append([1, "blanko KTP habis lagi di Dukcapil Kota Kupang", "Kependudukan", None])
    sheet.append([2, "Puskesmas Alak tutup jam 10 pagi", "Kesehatan Umum", "puskesmas-alak"])
    sheet.append([3, "Air PDAM keruh di Oesapa", "Air Minum", None])
    sheet.append([4, "surat tanah belum jadi", "Pertanahan", None])
    sheet.append([5, "jalan rusak", "Jalan", "dinas-tidak-ada"])
    sheet.append([None, None, None, None])
    sheet.append([7, None, "Kependudukan", None])
    sheet.append([8, "lampu jalan mati", "", None])
    workbook.save(tmp_path / "kasus.xlsx")
    categories = write_csv(
        tmp_path / "peta.csv",
        [
            "kategori,sector",
            "Kependudukan,adminduk",
            "Air Minum,air_bersih",
            "Jalan,pekerjaan_umum",
        ],
    )
    assert (
        cli(
            "labels",
            "import",
            str(tmp_path / "kasus.xlsx"),
            "--column",
            "Uraian Laporan=text",
            "--column",
            "kategori=sector",
            "--column",
            "instansi=agency",
            "--map",
            str(categories),
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "7 rows read, 3 labels stored, 0 already imported, 4 rejected" in out
    assert "columns not read: No" in out
    assert "kasus.xlsx:3: sector 'Kesehatan Umum' is not a sector; known: adminduk," in out
    assert "kasus.xlsx:6: agency 'dinas-tidak-ada' is not an agency in the config" in out
    assert "kasus.xlsx:8: missing or empty 'text'" in out
    assert "kasus.xlsx:9: no label" in out
    labels = stored(tmp_path / "monitor.db")
    assert ("blanko KTP habis lagi di Dukcapil Kota Kupang", None, "adminduk", None, None) in labels
    assert ("surat tanah belum jadi", None, "pertanahan", None, None) in labels  # our own key


def test_every_kind_of_bad_row_is_named_with_its_line(cli, tmp_path, capsys):
    path = write_csv(
        tmp_path / "riwayat.csv",
        [
            "text,is_complaint,sector,topics,agency",
            '"antre lama di Samsat Kupang",ya,perhubungan,antrean,',  # 2: good
            ",ya,adminduk,,",  # 3: no text
            '"petugas kasar",mungkin,,,',  # 4: is_complaint
            '"rumah sakit penuh",,kesehatan umum,,',  # 5: sector
            '"izin lama",,perizinan,"penundaan;lambat sekali",',  # 6: topic
            '"capil lambat",,,,dukcapil-entah',  # 7: agency
            '"hanya teks",,,,',  # 8: no label
            '"terlalu",1,adminduk,,,ekstra',  # 9: columns
        ],
    )
    path.write_bytes(path.read_bytes() + b"\xff\xfe bukan utf-8,1,adminduk,,\n")  # 10
    assert cli("labels", "import", str(path)) == 0
    out = capsys.readouterr().out
    assert "9 rows read, 1 labels stored, 0 already imported, 8 rejected" in out
    assert "riwayat.csv:3: missing or empty 'text'" in out
    assert "riwayat.csv:4: is_complaint 'mungkin' is not 1/0, true/false, ya/tidak or y/n" in out
    assert "riwayat.csv:5: sector 'kesehatan umum' is not a sector" in out
    assert "(map the office's categories with --map FILE); known: adminduk, kesehatan" in out
    assert "riwayat.csv:6: topic 'lambat sekali' is not a topic; known: penundaan" in out
    assert "riwayat.csv:7: agency 'dukcapil-entah' is not an agency in the config" in out
    assert "riwayat.csv:8: no label" in out
    assert "riwayat.csv:9: 5 columns expected, the row has 6" in out
    assert "riwayat.csv:10: not valid UTF-8" in out


def test_a_stray_quote_does_not_swallow_the_rows_after_it(cli, tmp_path, capsys):
    lines = ["text,sector", '"KTP belum jadi,adminduk']  # the quote is never closed
    lines += [f'"keluhan nomor {n} di Kupang",adminduk' for n in range(3, 13)]
    path = write_csv(tmp_path / "rusak.csv", lines)
    assert cli("labels", "import", str(path)) == 0
    out = capsys.readouterr().out
    assert "10 labels stored" in out and "1 rejected" in out
    assert "rusak.csv:2: " in out
    assert len(stored(tmp_path / "monitor.db")) == 10


def test_export_imports_back_unchanged_and_into_a_fresh_database(cli, tmp_path, capsys):
    rows_csv(tmp_path / "riwayat.csv")
    assert cli("labels", "import", str(tmp_path / "riwayat.csv")) == 0
    formula = tmp_path / "rumus.jsonl"
    formula.write_text(
        json.dumps({"text": '=HYPERLINK("x") dukcapil lambat', "sector": "adminduk"}) + "\n",
        encoding="utf-8",
    )
    assert cli("labels", "import", str(formula)) == 0
    original = stored(tmp_path / "monitor.db")
    for name in ("ekspor.csv", "ekspor.jsonl"):
        assert cli("labels", "export", str(tmp_path / name)) == 0
        capsys.readouterr()
        assert cli("labels", "import", str(tmp_path / name)) == 0
        assert "5 rows read, 0 labels stored, 5 already imported" in capsys.readouterr().out
        fresh = tmp_path / f"fresh-{name}.db"
        assert cli("--db", str(fresh), "labels", "import", str(tmp_path / name)) == 0
        assert stored(fresh) == original
    header = (tmp_path / "ekspor.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == (
        "text,is_complaint,sector,topics,agency,source_file,source_row,imported_at,imported_by"
    )
    assert "'=HYPERLINK" in (tmp_path / "ekspor.csv").read_text(encoding="utf-8")


def test_list_counts_by_file_and_sector(cli, tmp_path, capsys):
    rows_csv(tmp_path / "riwayat.csv")
    assert cli("labels", "import", str(tmp_path / "riwayat.csv")) == 0
    capsys.readouterr()
    assert cli("labels", "list") == 0
    out = capsys.readouterr().out
    assert "Office labels: 4" in out
    assert "4  riwayat.csv" in out
    assert "1  rumah_sakit (Rumah sakit)" in out


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        ("", "kosong.csv", "empty"),
        ("uraian,kategori\nKTP lama,adminduk\n", "tanpa_teks.csv", "no 'text' column"),
        ("text,catatan\nKTP lama,x\n", "tanpa_label.csv", "no label column"),
        ("text,sector\nKTP lama,entah\n", "semua_salah.csv", "no valid label"),
        ("text,sector\n", "data.pdf", "unknown file type"),
        ("bukan zip", "palsu.xlsx", "not readable as an Excel workbook"),
    ],
)
def test_files_that_cannot_be_imported_exit_2(cli, tmp_path, capsys, content, name, expected):
    (tmp_path / name).write_text(content, encoding="utf-8")
    assert cli("labels", "import", str(tmp_path / name)) == EXIT_USAGE
    captured = capsys.readouterr()
    assert expected in captured.err + captured.out


def test_bad_options_exit_2(cli, tmp_path, capsys):
    path = rows_csv(tmp_path / "riwayat.csv")
    assert cli("labels", "import", str(path), "--column", "text") == EXIT_USAGE
    assert cli("labels", "import", str(path), "--column", "text=judul") == EXIT_USAGE
    assert cli("labels", "import", str(path), "--column", "uraian=text") == EXIT_USAGE
    bad_map = write_csv(tmp_path / "peta.csv", ["Kependudukan,adminduk", "Air,air_minum"])
    assert cli("labels", "import", str(path), "--map", str(bad_map)) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "peta.csv:2: 'air_minum' is not a sector key" in err
    assert "file does not have" in err
    assert not (tmp_path / "monitor.db").exists()  # refused before the database was opened
