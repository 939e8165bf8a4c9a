"""File import: real CSV and JSON-lines files through the real pipeline into real SQLite."""

from __future__ import annotations

import json
import logging
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.collectors import CollectContext, CollectorError
from monitor.collectors.file_import import (
    BATCH_SIZE,
    FileImportCollector,
    already_imported,
    file_fingerprint,
    import_file,
)
from monitor.config import SourceConfig
from tests.conftest import collect_once

FIXTURES = Path(__file__).parent / "fixtures" / "file_import"
FACEBOOK_COLUMNS = {
    "id": "ID Komentar",
    "text": "Isi Komentar",
    "created_at": "Waktu",
    "author": "Nama Akun",
    "url": "Tautan",
    "reply_to": "Balasan Untuk",
}
LAPOR_COLUMNS = {
    "id": "tracking_id",
    "text": "isi",
    "created_at": "tanggal_lapor",
    "author": "pelapor.nama",
    "url": "tautan",
}


def source_for(path: Path, **options) -> SourceConfig:
    return SourceConfig(
        name="file-import",
        type="file_import",
        region="kota-kupang",
        path=str(path),
        options={
            "format": "csv",
            "columns": {},
            "time_format": "",
            "platform": "",
            "encoding": "utf-8",
            "delimiter": ",",
            **options,
        },
    )


def facebook_source(path: Path) -> SourceConfig:
    return source_for(
        path,
        columns=FACEBOOK_COLUMNS,
        time_format="%d/%m/%Y %H:%M",
        platform="facebook",
        delimiter=";",
    )


def lapor_source(path: Path) -> SourceConfig:
    return source_for(path, format="jsonl", columns=LAPOR_COLUMNS, platform="lapor")


def copy_fixture(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copyfile(FIXTURES / name, target)
    return target


def stored(store) -> dict[str, dict]:
    cursor = store.db.execute("SELECT * FROM posts ORDER BY source_id")
    columns = [d[0] for d in cursor.description]
    return {row[columns.index("source_id")]: dict(zip(columns, row, strict=True)) for row in cursor}


def context(**fields) -> CollectContext:
    return CollectContext(now=datetime.now(UTC), timezone="Asia/Makassar", **fields)


def test_facebook_csv_with_semicolons_and_local_day_first_times(config, tmp_path):
    path = copy_fixture("facebook_kupang.csv", tmp_path)
    result, store = collect_once(config, facebook_source(path))
    with store:
        posts = stored(store)
        cursor = json.loads(store.get_cursor("file-import"))

    assert result.error == ""
    assert (result.fetched, result.new, result.duplicates, result.rejected) == (10, 5, 0, 5)
    assert set(posts) == {"fb_1001", "fb_1002", "fb_1003", "fb_1004", "fb_1009"}
    first = posts["fb_1001"]
    assert first["created_at"] == "2026-11-20T00:15:00Z"  # 08:15 WITA
    assert first["platform"] == "facebook" and first["region"] == "kota-kupang"
    assert first["url"] == "https://www.facebook.com/groups/infokupang/posts/1001"
    assert first["is_reply"] == 0
    assert posts["fb_1002"]["text"] == (
        "Lampu jalan di Jl. Frans Seda mati su 2 minggu\nLapor ke PLN & kelurahan sonde dibalas"
    )
    assert posts["fb_1003"]["text"] == (
        'Puskesmas Oepoi:\nobat habis, disuruh beli di apotek luar; petugas bilang "tunggu '
        'minggu depan"'
    )
    reply = posts["fb_1004"]
    assert reply["is_reply"] == 1 and reply["parent_source_id"] == "fb_1001"
    # Line numbers are physical lines: the quoted cell of fb_1003 spans lines 4 and 5.
    assert result.rejections == [
        "facebook_kupang.csv:7: missing text (column 'Isi Komentar' is empty)",
        "facebook_kupang.csv:8: unreadable time '31/02/2026 10:00' in column 'Waktu' "
        "(expected format '%d/%m/%Y %H:%M')",
        "facebook_kupang.csv:9: 4 columns, the header has 6",
        "facebook_kupang.csv:10: missing id (column 'ID Komentar' is empty)",
        "facebook_kupang.csv:11: empty text (nothing left once HTML is removed)",
    ]
    [(key, fingerprint)] = cursor["files"].items()
    assert key == str(path.resolve())
    assert fingerprint.items() >= file_fingerprint(path).items()
    assert set(fingerprint) == {"size", "mtime_ns", "sha256_64k", "options_sha256"}


def test_lapor_jsonl_with_nested_keys_offsets_and_bad_lines(config, tmp_path):
    path = copy_fixture("lapor_handover.jsonl", tmp_path)
    result, store = collect_once(config, lapor_source(path))
    with store:
        posts = stored(store)
    assert result.error == ""
    assert set(posts) == {"LPR-2026-0871", "LPR-2026-0872", "LPR-2026-0876"}
    assert posts["LPR-2026-0871"]["created_at"] == "2026-11-19T02:12:00Z"  # +08:00 honoured
    assert posts["LPR-2026-0872"]["created_at"] == "2026-11-20T06:30:00Z"  # no offset: WITA
    assert posts["LPR-2026-0872"]["text"] == (
        "Antrean pendaftaran BPJS di RSUD S.K. Lerik tidak bergerak dari pagi.\n"
        "Petugas hanya satu orang."
    )
    assert posts["LPR-2026-0871"]["platform"] == "lapor"
    assert posts["LPR-2026-0876"]["platform"] == "lapor"  # from its own "platform" key
    assert posts["LPR-2026-0876"]["url"] == ""
    assert posts["LPR-2026-0871"]["url"].endswith("/LPR-2026-0871")
    assert (result.new, result.rejected) == (3, 4)
    assert result.rejections[0].startswith("lapor_handover.jsonl:3: not valid JSON (")
    assert result.rejections[1:] == [
        "lapor_handover.jsonl:4: missing text (column 'isi' is empty)",
        "lapor_handover.jsonl:5: not a JSON object",
        "lapor_handover.jsonl:8: unreadable time 'kemarin sore' in column 'tanggal_lapor' "
        "(expected ISO-8601)",
    ]


def test_author_from_a_nested_key_is_pseudonymised_not_stored(config, tmp_path):
    path = copy_fixture("lapor_handover.jsonl", tmp_path)
    config.privacy.raw_retention_days = 0
    result, store = collect_once(config, lapor_source(path))
    with store:
        row = stored(store)["LPR-2026-0871"]
    assert row["author_key"] and "Yohanes" not in json.dumps(row)


def test_reimporting_the_same_file_adds_nothing(config, tmp_path, caplog):
    path = copy_fixture("facebook_kupang.csv", tmp_path)
    source = facebook_source(path)
    collect_once(config, source)[1].close()

    with caplog.at_level(logging.INFO, logger="monitor.collectors.file_import"):
        again, store = collect_once(config, source)
    store.close()
    assert (again.fetched, again.new, again.duplicates, again.error) == (0, 0, 0, "")
    assert any("already imported" in r.getMessage() for r in caplog.records)

    # Touched (same content, new time): read again, and the store keeps one copy of each.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    third, store = collect_once(config, source)
    with store:
        assert store.count_posts() == 5
        cursor = store.get_cursor("file-import")
    assert (third.new, third.duplicates, third.rejected) == (0, 5, 5)
    assert already_imported(path, source, cursor)


def test_changed_options_read_an_unchanged_file_again(config, tmp_path):
    path = copy_fixture("facebook_kupang.csv", tmp_path)
    source = facebook_source(path)
    source.options["time_format"] = "%Y-%m-%d %H:%M"  # wrong: every row is rejected
    first, store = collect_once(config, source)
    store.close()
    assert (first.new, first.rejected) == (0, 10)

    source.options["time_format"] = "%d/%m/%Y %H:%M"  # fixed
    second, store = collect_once(config, source)
    store.close()
    assert (second.new, second.rejected) == (5, 5)


def test_an_appended_file_imports_only_the_new_rows(config, tmp_path):
    path = copy_fixture("lapor_handover.jsonl", tmp_path)
    source = lapor_source(path)
    collect_once(config, source)[1].close()
    with path.open("a", encoding="utf-8") as handle:
        handle.write(
            json.dumps(
                {
                    "tracking_id": "LPR-2026-0900",
                    "isi": "Sertifikat tanah di BPN Kota Kupang belum terbit setelah 1 tahun.",
                    "tanggal_lapor": "2026-11-22T07:00:00+08:00",
                }
            )
            + "\n"
        )
    result, store = collect_once(config, source)
    store.close()
    assert (result.new, result.duplicates, result.rejected) == (1, 3, 4)


def test_invalid_utf8_line_is_rejected_and_the_rest_stored_csv(config, tmp_path):
    path = tmp_path / "keluhan.csv"
    path.write_bytes(
        b"id,text,created_at\n"
        b"k1,Antrean panjang di Samsat Kupang,2026-11-20T09:00:00+08:00\n"
        b"k2,Pelayanan \xff\xfe lambat,2026-11-20T10:00:00+08:00\n"
        b'k3,"Puskesmas tutup\nlebih awal \xc3",2026-11-20T11:00:00+08:00\n'
        b"k4,Lampu jalan mati di Oesapa,2026-11-20T12:00:00+08:00\n"
    )
    result, store = collect_once(config, source_for(path))
    with store:
        posts = stored(store)
    assert set(posts) == {"k1", "k4"}
    assert result.rejections == [
        "keluhan.csv:3: not valid utf-8 (byte 0xff at position 14)",
        "keluhan.csv:4: line 5: not valid utf-8 (byte 0xc3 at position 12)",
    ]
    assert posts["k4"]["created_at"] == "2026-11-20T04:00:00Z"


def test_invalid_utf8_line_is_rejected_and_the_rest_stored_jsonl(config, tmp_path):
    path = tmp_path / "lapor.jsonl"
    good = '{"id": "L1", "text": "Jalan rusak di Alak", "created_at": "2026-11-20T08:00:00"}\n'
    path.write_bytes(
        good.encode()
        + b'{"id": "L2", "text": "Air \xe9 keruh", "created_at": "2026-11-20T08:00:00"}\n'
        + good.replace("L1", "L3").encode()
    )
    result, store = collect_once(config, source_for(path, format="jsonl"))
    with store:
        assert set(stored(store)) == {"L1", "L3"}
    assert result.rejections == ["lapor.jsonl:2: not valid utf-8 (byte 0xe9 at position 27)"]


def test_other_encodings_and_a_byte_order_mark(config, tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes(
        "id\ttext\tcreated_at\nx1\tPelayanan café kantor camat lambat\t2026-11-20 08:00\n".encode(
            "cp1252"
        )
    )
    result, store = collect_once(config, source_for(latin, encoding="cp1252", delimiter="\t"))
    with store:
        assert stored(store)["x1"]["text"] == "Pelayanan café kantor camat lambat"
    assert result.rejected == 0

    bom = tmp_path / "excel.csv"
    bom.write_bytes(b"\xef\xbb\xbfid,text,created_at\nb1,KTP belum jadi,2026-11-20 08:00\n")
    result, store = collect_once(config, source_for(bom))
    with store:
        assert "b1" in stored(store)
    assert result.error == ""


def test_missing_file_names_the_file(config, tmp_path):
    path = tmp_path / "tidak-ada.csv"
    result, store = collect_once(config, source_for(path))
    with store:
        assert store.get_cursor("file-import") is None
    assert str(path) in result.error and "does not exist" in result.error


def test_source_without_a_path_says_what_to_set(config):
    source = source_for(Path("x.csv"))
    source.path = ""
    result, store = collect_once(config, source)
    store.close()
    assert "has no path" in result.error and "monitor import FILE" in result.error


def test_missing_column_names_it_and_lists_the_columns_present(config, tmp_path):
    path = copy_fixture("facebook_kupang.csv", tmp_path)
    source = facebook_source(path)
    source.options["columns"] = {**FACEBOOK_COLUMNS, "text": "Komentar"}
    result, store = collect_once(config, source)
    with store:
        assert store.count_posts() == 0
    assert str(path) in result.error
    assert "'Komentar' (for text)" in result.error
    assert "'ID Komentar', 'Nama Akun', 'Isi Komentar', 'Waktu'" in result.error


def test_wrong_delimiter_is_hinted(config, tmp_path):
    path = copy_fixture("facebook_kupang.csv", tmp_path)
    source = facebook_source(path)
    source.options["delimiter"] = ","
    result, store = collect_once(config, source)
    store.close()
    assert "is the delimiter ',' right?" in result.error


def test_unknown_field_in_columns_is_an_error(tmp_path):
    path = copy_fixture("facebook_kupang.csv", tmp_path)
    source = facebook_source(path)
    source.options["columns"] = {**FACEBOOK_COLUMNS, "teks": "Isi Komentar"}
    with pytest.raises(CollectorError, match="columns.teks is not a post field"):
        list(FileImportCollector(source, context()).fetch(None))


def test_utf16_is_refused_with_advice(tmp_path):
    path = copy_fixture("facebook_kupang.csv", tmp_path)
    source = facebook_source(path)
    source.options["encoding"] = "utf-16"
    with pytest.raises(CollectorError, match="convert the file to UTF-8"):
        list(import_file(path, source, context()))


def test_large_file_comes_in_batches_with_the_cursor_only_in_the_last(tmp_path):
    path = tmp_path / "besar.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("id,text,created_at\n")
        for number in range(1, 1201):
            text = "" if number % 400 == 0 else f"Keluhan nomor {number} soal antrean"
            handle.write(f"r{number},{text},2026-11-20T08:00:00+08:00\n")
    batches = list(import_file(path, source_for(path), context()))
    assert [len(b.posts) + len(b.rejected) for b in batches] == [BATCH_SIZE, BATCH_SIZE, 200]
    assert [b.cursor is None for b in batches] == [True, True, False]
    assert sum(len(b.posts) for b in batches) == 1197
    assert batches[0].rejected == ["besar.csv:401: missing text (column 'text' is empty)"]
    assert already_imported(path, source_for(path), batches[-1].cursor)
    assert not already_imported(path, source_for(path), None)
    assert not already_imported(path, source_for(path, platform="x"), batches[-1].cursor)


def test_huge_cells_are_kept(config, tmp_path):
    path = tmp_path / "panjang.csv"
    long_text = "Kronologi pengaduan: " + "antre lama tanpa kepastian. " * 3600  # ~100 KB
    path.write_text(
        f'id,text,created_at\nh1,"{long_text}",2026-11-20T08:00:00Z\n'
        "h2,Pendek saja,2026-11-20T09:00:00Z\n",
        encoding="utf-8",
    )
    result, store = collect_once(config, source_for(path))
    with store:
        posts = stored(store)
    assert len(posts["h1"]["text"]) == len(long_text.strip()) > 100_000
    assert "h2" in posts and result.rejected == 0


def test_malformed_quoting_rejects_the_record_only(config, tmp_path):
    path = tmp_path / "kutip.csv"
    path.write_text(
        "id,text,created_at\n"
        'q1,"Sampah tidak diangkut" seminggu,2026-11-20T08:00:00Z\n'
        "q2,Sampah di Oebobo menumpuk,2026-11-20T09:00:00Z\n",
        encoding="utf-8",
    )
    result, store = collect_once(config, source_for(path))
    with store:
        assert set(stored(store)) == {"q2"}
    assert result.rejections == ["kutip.csv:2: not readable as CSV (',' expected after '\"')"]


def test_header_only_file_imports_nothing_and_an_empty_file_is_an_error(config, tmp_path):
    header_only = tmp_path / "kosong.csv"
    header_only.write_text("id,text,created_at\n", encoding="utf-8")
    result, store = collect_once(config, source_for(header_only))
    with store:
        assert store.count_posts() == 0
        assert store.get_cursor("file-import") is not None
    assert result.error == ""

    empty = tmp_path / "hampa.csv"
    empty.write_bytes(b"")
    result, store = collect_once(config, source_for(empty))
    store.close()
    assert "empty (no header row)" in result.error


def test_import_file_is_what_the_import_command_calls(tmp_path):
    path = copy_fixture("lapor_handover.jsonl", tmp_path)
    other = tmp_path / "sumber-lain.csv"  # the configured path is not the imported file
    batches = list(import_file(path, lapor_source(other), context()))
    assert sum(len(b.posts) for b in batches) == 3
    assert all(p.source == "file-import" for b in batches for p in b.posts)
    cursor = batches[-1].cursor
    assert list(json.loads(cursor)["files"]) == [str(path.resolve())]
    # With the saved cursor, an unchanged file yields nothing at all.
    assert list(import_file(path, lapor_source(other), context(), cursor=cursor)) == []
    # A second file is remembered next to the first.
    second = copy_fixture("facebook_kupang.csv", tmp_path)
    last = list(import_file(second, facebook_source(second), context(), cursor=cursor))[-1]
    assert set(json.loads(last.cursor)["files"]) == {str(path.resolve()), str(second.resolve())}


def test_iso_dates_without_time_and_unix_seconds(tmp_path):
    path = tmp_path / "tiktok.jsonl"
    path.write_text(
        '{"id": "t1", "text": "Jalan berlubang", "created_at": "2026-11-20"}\n'
        '{"id": 2, "text": "Lampu mati", "created_at": 1763600000}\n',
        encoding="utf-8",
    )
    batches = list(import_file(path, source_for(path, format="jsonl"), context()))
    posts = {p.source_id: p for b in batches for p in b.posts}
    assert posts["t1"].created_at == datetime(2026, 11, 19, 16, 0, tzinfo=UTC)
    assert posts["2"].created_at == datetime.fromtimestamp(1763600000, UTC)
    assert posts["2"].platform == "import"
