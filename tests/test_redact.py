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


# --- mentions ---------------------------------------------------------------------------


def test_mentions_of_private_people_are_hidden_agency_handles_kept():
    text = "@nona_oebobo88 sama, sudah lapor ke @DukcapilKota juga"
    assert redact(text, keep_handles=frozenset({"dukcapilkota"})) == (
        "[AKUN] sama, sudah lapor ke @DukcapilKota juga"
    )
    assert redact(text, keep_handles=None) == text  # privacy.show_author_handles = true
    assert redact("kirim ke nona@gmail.com") == "kirim ke [EMAIL]"


# --- properties -------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

WORDS = st.lists(
    st.sampled_from(
        "saya sudah antre ktp belum jadi tolong dukcapil kota kupang rsud obat habis "
        "petugas bilang besok datang lagi pagi sore bulan minggu rt rw kelurahan".split()
    ),
    max_size=12,
).map(" ".join)
SEPARATOR = st.sampled_from(["", " ", ".", "-"])


@st.composite
def nik(draw):
    digits = draw(st.text("0123456789", min_size=16, max_size=16))
    groups = [digits[0:6], digits[6:12], digits[12:16]] if draw(st.booleans()) else [digits]
    return draw(SEPARATOR).join(groups)


@st.composite
def phone(draw):
    prefix = draw(st.sampled_from(["08", "+628", "628", "+62 8", "62-8"]))
    rest = draw(st.text("0123456789", min_size=8, max_size=10))
    sep = draw(st.sampled_from(["", " ", "-", "."]))
    return prefix + rest[:2] + sep + rest[2:6] + sep + rest[6:]


@settings(max_examples=300, deadline=None)
@given(before=WORDS, after=WORDS, number=nik())
def test_a_nik_anywhere_is_always_removed(before, after, number):
    out = redact(f"{before} {number} {after}".strip())
    assert number not in out
    assert "[NIK]" in out


@settings(max_examples=300, deadline=None)
@given(before=WORDS, after=WORDS, number=phone())
def test_a_phone_number_anywhere_is_always_removed(before, after, number):
    out = redact(f"{before} {number} {after}".strip())
    assert number not in out
    assert "[TELEPON]" in out


ORDINARY = st.one_of(
    st.integers(0, 9999).map(str),  # counts, years, queue numbers
    st.integers(1, 999).map(lambda n: f"Rp {n}.000"),
    st.integers(1, 9).map(lambda n: f"Rp {n}.500.000"),
    st.builds(
        lambda d, m, y: f"{d:02d}/{m:02d}/{y}",
        st.integers(1, 28),
        st.integers(1, 12),
        st.integers(2000, 2030),
    ),
    st.builds(lambda h, m: f"jam {h:02d}.{m:02d}", st.integers(0, 23), st.integers(0, 59)),
    st.builds(lambda a, b: f"RT {a:03d}/RW {b:03d}", st.integers(1, 30), st.integers(1, 15)),
    st.integers(1, 500).map(lambda n: f"{n}rb"),
)


@settings(max_examples=300, deadline=None)
@given(before=WORDS, after=WORDS, value=ORDINARY)
def test_ordinary_numbers_are_never_removed(before, after, value):
    text = f"{before} {value} {after}".strip()
    assert redact(text) == text


import importlib  # noqa: E402


def _every_pattern(text: str, keep_handles: frozenset[str] | None) -> str:
    """redact without its shortcuts: every pattern on every text, in redact's order."""
    module = importlib.import_module("monitor.text.redact")  # the package exports the function

    text = module._EMAIL.sub("[EMAIL]", module.strip_controls(text))
    if keep_handles is not None:
        text = module._MENTION.sub(
            lambda m: m.group(0) if m.group(1).lower() in keep_handles else "[AKUN]", text
        )
    text = module._ACCOUNT.sub(lambda m: f"{m.group(1)}{m.group(2)}[REKENING]", text)
    text = module._NIK.sub("[NIK]", text)
    text = module._PHONE.sub("[TELEPON]", text)
    text = module._LANDLINE.sub("[TELEPON]", text)
    return module._PLATE.sub("[PLAT]", text)


# The fewest digits each pattern can match, and the @ forms.
EDGES = [
    "no rek BRI 12",
    "norek 1 2",
    "rek. 12-3",
    "(0380) 821234",
    "(038) 12345",
    "DH 1234 AB",
    "dh 123 ab",
    "081 234 567",
    "62812345678",
    "B 1 A",
    "a@b.co",
    "@Budi_K",
    "@dukcapilkota",
    "x@y",
    "٣٤",
    "08",
    "+62",
]

PIECE = st.one_of(
    WORDS,
    nik(),
    phone(),
    ORDINARY,
    st.sampled_from(EDGES),
    st.text("0123456789 .-()+@abDHRrekno", max_size=30),
)


@settings(max_examples=500, deadline=None)
@given(
    pieces=st.lists(PIECE, max_size=8),
    joiner=st.sampled_from([" ", "", ".", "\n"]),
    keep=st.sampled_from([frozenset(), frozenset({"dukcapilkota"}), None]),
)
def test_the_shortcuts_never_change_what_is_redacted(pieces, joiner, keep):
    # redact skips patterns a text cannot match (no @, too few digits); the result
    # must be exactly what running every pattern gives.
    text = joiner.join(pieces)
    assert redact(text, keep_handles=keep) == _every_pattern(text, keep)


@pytest.mark.parametrize("edge", EDGES)
def test_the_shortcuts_keep_each_smallest_match(edge):
    for keep in (frozenset(), None):
        for text in (edge, f"lapor {edge} tadi"):
            assert redact(text, keep_handles=keep) == _every_pattern(text, keep)
