from __future__ import annotations

import pytest

from monitor.text.redact import pseudonymise, redact


@pytest.mark.parametrize(
    "text, expected",
    [
        ("NIK saya 5371012345678901 tolong", "NIK saya [NIK] tolong"),
        ("KK 5371-0123-4567-8901", "KK [NIK]"),
        ("nik 5371 0123 4567 8901.", "nik [NIK]."),
        ("wa 0812-3456-7890", "wa [TELEPON]"),
        ("hp +62 813 1234 5678", "hp [TELEPON]"),
        ("hub 6285212345678", "hub [TELEPON]"),
        ("kantor (0380) 821234", "kantor [TELEPON]"),
        ("email nona.tefa88@gmail.com pls", "email [EMAIL] pls"),
        ("no rek BRI 0123 4567 8901 234", "no rek BRI [REKENING]"),
        ("rekening: 1234567890", "rekening: [REKENING]"),
        ("no rek BRI sy 4521-01-019876-53-2 ya", "no rek BRI sy [REKENING] ya"),
        ("norek bca a.n. beta 0123456789", "norek bca a.n. beta [REKENING]"),
        ("motor DH 4321 KC ditilang", "motor [PLAT] ditilang"),
    ],
)
def test_personal_data_becomes_placeholders(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "antre dari jam 06.30 sampai 11.00",
        "tanggal 12/10/2026, sudah 3 bulan",
        "bayar Rp 50.000 biar cepat, kemarin 150rb",
        "RT 005 RW 002 Kelurahan Oebobo",
        "tahun 2024 dan 2025",
        "nomor antrean 127 dari 300",
        "SKCK 2 lembar",
    ],
)
def test_ordinary_numbers_stay(text):
    assert redact(text) == text


def test_pseudonyms_are_keyed_and_stable():
    a = pseudonymise(b"key-1", "x", "Nona_Oebobo")
    assert a == pseudonymise(b"key-1", "x", "nona_oebobo")
    assert a != pseudonymise(b"key-2", "x", "nona_oebobo")
    assert "nona" not in a
    assert pseudonymise(b"key-1", "x", "") == ""
