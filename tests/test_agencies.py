"""Agency resolution, rule by rule, on the shipped Kota Kupang / NTT gazetteer."""

from __future__ import annotations

import pytest

from monitor.agencies import (
    FUZZY_CONFIDENCE,
    NAMED_CONFIDENCE,
    PLACE_SECTOR_CONFIDENCE,
    SECTOR_FALLBACK_CONFIDENCE,
    TAG_CONFIDENCE,
    Gazetteer,
)
from monitor.config import AgencyConfig
from monitor.text.normalize import normalize


@pytest.fixture(scope="module")
def gazetteer(tmp_path_factory):
    from monitor.config import example_config

    config = example_config(tmp_path_factory.mktemp("cfg"))
    config.agencies.append(
        AgencyConfig(
            id="contoh-handle",
            name="Akun Contoh",
            sector="lainnya",
            region="kota-kupang",
            handles=["@dinas_contoh"],
        )
    )
    return Gazetteer(config.agencies, config.regions, config.default_region)


def resolve(gazetteer, text, sector="", source_region=""):
    return gazetteer.resolve(normalize(text), sector, source_region)


@pytest.mark.parametrize(
    "text, sector, agency, confidence",
    [
        # named, formal and informal
        (
            "Pelayanan Disdukcapil Kota Kupang sangat lambat",
            "adminduk",
            "disdukcapil-kota-kupang",
            NAMED_CONFIDENCE,
        ),
        (
            "capil kota kupang su 2 minggu blm cetak",
            "adminduk",
            "disdukcapil-kota-kupang",
            NAMED_CONFIDENCE,
        ),
        ("antre di RSUD S.K. Lerik dari subuh", "rumah_sakit", "rsud-sk-lerik", NAMED_CONFIDENCE),
        ("rs lerik obat habis", "rumah_sakit", "rsud-sk-lerik", NAMED_CONFIDENCE),
        (
            "IGD RSUD Prof. Dr. W. Z. Johannes penuh",
            "rumah_sakit",
            "rsud-wz-johannes",
            NAMED_CONFIDENCE,
        ),
        ("pkm oesapa tutup jam 12", "kesehatan", "puskesmas-oesapa", NAMED_CONFIDENCE),
        # city vs regency
        (
            "Dukcapil Kota Kupang cepat, Dukcapil Kabupaten Kupang lambat",
            "",
            "disdukcapil-kota-kupang",
            NAMED_CONFIDENCE,
        ),
        (
            "dukcapil kab kupang blm cetak ktp",
            "adminduk",
            "disdukcapil-kab-kupang",
            NAMED_CONFIDENCE,
        ),
        ("RSUD Naibonat kekurangan dokter", "rumah_sakit", "rsud-naibonat", NAMED_CONFIDENCE),
        # only by handle
        ("@dinas_contoh tolong dibalas", "", "contoh-handle", TAG_CONFIDENCE),
        # typos
        ("obat habis di rs lerick", "rumah_sakit", "rsud-sk-lerik", FUZZY_CONFIDENCE),
        ("rsu joanes antri lama", "rumah_sakit", "rsud-wz-johannes", FUZZY_CONFIDENCE),
        ("puskesmas oesappa tutup", "kesehatan", "puskesmas-oesapa", FUZZY_CONFIDENCE),
        # no agency named, service clear: the sector's agency in the post's region
        (
            "di oelamasi ktp sy blm jadi",
            "adminduk",
            "disdukcapil-kab-kupang",
            PLACE_SECTOR_CONFIDENCE,
        ),
        (
            "ktp sy blm jadi2 padahal udh 3 bulan",
            "adminduk",
            "disdukcapil-kota-kupang",
            SECTOR_FALLBACK_CONFIDENCE,
        ),
        ("dukcapil kupang lama", "adminduk", "disdukcapil-kota-kupang", SECTOR_FALLBACK_CONFIDENCE),
        # names none, sector unclear: never dropped, explicitly unresolved
        ("halo semua selamat pagi", "lainnya", "", 0.0),
        ("lirik lagu ini bagus sekali", "lainnya", "", 0.0),
    ],
)
def test_resolution(gazetteer, text, sector, agency, confidence):
    match = resolve(gazetteer, text, sector)
    assert (match.agency_id, match.confidence) == (agency, confidence), match.evidence
    assert match.evidence


def test_two_agencies_prefer_the_one_of_the_posts_sector(gazetteer):
    text = "KTP belum jadi jadi tidak bisa berobat di RSUD S.K. Lerik, capil kota kupang lambat"
    match = resolve(gazetteer, text, "adminduk")
    assert match.agency_id == "disdukcapil-kota-kupang"
    assert "rsud-sk-lerik" in match.evidence
    assert resolve(gazetteer, text, "rumah_sakit").agency_id == "rsud-sk-lerik"


def test_source_region_decides_when_the_text_names_no_place(gazetteer):
    match = resolve(gazetteer, "ktp saya belum jadi", "adminduk", source_region="kab-kupang")
    assert match.agency_id == "disdukcapil-kab-kupang"
    assert "wilayah sumber" in match.evidence


def test_place_names_beat_the_source_region_and_longer_places_win(gazetteer):
    match = resolve(gazetteer, "ktp di penfui timur belum jadi", "adminduk", "kota-kupang")
    assert match.agency_id == "disdukcapil-kab-kupang"  # "penfui timur", not Kota's "penfui"


@pytest.mark.parametrize(
    "word", ["lirik", "kupon", "tenang", "kabupaten", "pelayanan", "rumah", "jalan", "sekolah"]
)
def test_ordinary_words_are_never_corrected_into_names(gazetteer, word):
    assert gazetteer._correct(word) == word


@pytest.mark.parametrize(
    "typo, fixed", [("lerick", "lerik"), ("johanes", "johannes"), ("naibonnat", "naibonat")]
)
def test_typos_within_the_threshold_are_corrected(gazetteer, typo, fixed):
    assert gazetteer._correct(typo) == fixed
