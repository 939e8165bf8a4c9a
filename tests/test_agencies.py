"""Agency resolution, rule by rule, on the shipped Kota Kupang / NTT gazetteer."""

from __future__ import annotations

import pytest

from monitor.agencies import (
    AREA_CONFIDENCE,
    FUZZY_CONFIDENCE,
    GENERIC_ALIAS_CONFIDENCE,
    NAMED_CONFIDENCE,
    TAG_CONFIDENCE,
    Gazetteer,
)
from monitor.config import AgencyConfig


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
    return gazetteer.resolve(text, sector, source_region)


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
        # no agency named: kept unidentified, never guessed from the sector
        ("di oelamasi ktp sy blm jadi", "adminduk", "", 0.0),
        ("ktp sy blm jadi2 padahal udh 3 bulan", "adminduk", "", 0.0),
        ("beta su antre dari pagi, sonde dilayani", "pertanahan", "", 0.0),
        # a shared short name needs a region; "kupang" alone is neither city nor regency
        ("dukcapil kupang lama", "adminduk", "", 0.0),
        ("capil di oelamasi lama", "adminduk", "disdukcapil-kab-kupang", GENERIC_ALIAS_CONFIDENCE),
        # one-word short names of the only such agency
        ("samsat lama, antre 3 jam", "pajak_daerah", "samsat-kupang", GENERIC_ALIAS_CONFIDENCE),
        ("pdam mati lagi", "air_bersih", "pdam-kota-kupang", GENERIC_ALIAS_CONFIDENCE),
        ("PLN padam terus", "listrik", "pln-up3-kupang", GENERIC_ALIAS_CONFIDENCE),
        ("puskes sikumana tutup", "kesehatan", "puskesmas-sikumana", NAMED_CONFIDENCE),
        ("RS Lerik penuh", "rumah_sakit", "rsud-sk-lerik", NAMED_CONFIDENCE),
        # ... but not in a post about another city
        ("PDAM Makassar air mati 3 hari", "air_bersih", "", 0.0),
        ("samsat surabaya antre panjang", "pajak_daerah", "", 0.0),
        # a kelurahan office belongs to its kecamatan
        (
            "kantor lurah Oebufu tutup jam 11",
            "pemerintahan_wilayah",
            "kecamatan-oebobo",
            AREA_CONFIDENCE,
        ),
        (
            "lurah naikoten sonde ada di kantor",
            "pemerintahan_wilayah",
            "kecamatan-kota-raja",
            AREA_CONFIDENCE,
        ),
        ("jalan di oebufu rusak", "pekerjaan_umum", "", 0.0),
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


def test_place_names_beat_the_source_region_and_longer_places_win(gazetteer):
    match = resolve(gazetteer, "capil di penfui timur lambat", "adminduk", "kota-kupang")
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


def test_source_region_picks_among_agencies_sharing_a_short_name(gazetteer):
    assert resolve(gazetteer, "capil lama", "adminduk", "kota-kupang").agency_id == (
        "disdukcapil-kota-kupang"
    )
    assert resolve(gazetteer, "capil lama", "adminduk", "kab-kupang").agency_id == (
        "disdukcapil-kab-kupang"
    )
    assert resolve(gazetteer, "capil lama", "adminduk", "").agency_id == ""
    # a one-word name of a city agency is not used for a post from the regency
    assert resolve(gazetteer, "pdam mati lagi", "air_bersih", "kab-kupang").agency_id == ""
    # a provincial agency serves the city and the regency
    assert resolve(gazetteer, "samsat antre", "pajak_daerah", "kab-kupang").agency_id == (
        "samsat-kupang"
    )


@pytest.mark.parametrize(
    "text", ["urus KK ditunda trs", "air mati trus dari kemarin", "antre mulu", "tros sa"]
)
def test_slang_is_never_read_as_a_place(gazetteer, text):
    """ "tarus" is Kupang Malay for "terus", and also a village of Kabupaten Kupang."""
    match = resolve(gazetteer, text, "adminduk", "kota-kupang")
    assert match.region == "kota-kupang", match.evidence
    assert "tarus" not in match.evidence


def test_a_real_place_is_still_found(gazetteer):
    match = resolve(gazetteer, "jalan di Tarus rusak parah", "pekerjaan_umum")
    assert (match.agency_id, match.region) == ("", "kab-kupang")
    assert "tarus" in match.evidence


def test_unresolved_posts_keep_their_region(gazetteer):
    assert resolve(gazetteer, "lampu jalan di oesapa mati", "perhubungan").region == "kota-kupang"
    assert resolve(gazetteer, "lampu jalan mati", "perhubungan", "kab-kupang").region == (
        "kab-kupang"
    )
    assert resolve(gazetteer, "lampu jalan mati", "perhubungan").region == ""


def test_an_agencys_own_handle_is_known(gazetteer):
    assert gazetteer.agency_of_handle("@Dinas_Contoh") == "contoh-handle"
    assert gazetteer.agency_of_handle("@warga_biasa") == ""
    assert gazetteer.agency_of_handle("") == ""


@pytest.mark.parametrize("word", ["pelayanan", "dilayani", "terus", "perbaikan", "kesehatan"])
def test_affixed_ordinary_words_are_never_corrected(gazetteer, word):
    assert gazetteer._correct(word) == word


def test_author_agency_is_found_by_handle_at_intake(config):
    from monitor.intake import author_agency_of
    from tests.conftest import make_post

    config.agencies[0].handles = ["@Dukcapil_Contoh"]
    of = author_agency_of(config)
    assert of(make_post("1", author_handle="dukcapil_contoh")) == config.agencies[0].id
    assert of(make_post("2", author_handle="@DUKCAPIL_CONTOH")) == config.agencies[0].id
    assert of(make_post("3", author_handle="warga")) == ""


def test_an_account_that_spells_an_agencys_name_is_that_agency_everywhere(config):
    """Official accounts are not private people: shown as written, never pseudonymised,
    and their own posts never counted as complaints against them (issue 13, item 17)."""
    from monitor.intake import author_agency_of, display_redactor
    from tests.conftest import make_post

    assert not any(a.handles for a in config.agencies)  # nothing listed in the example
    of = author_agency_of(config)
    shown = display_redactor(config)
    for handle in ("@dukcapilkotakupang", "@Dukcapil_Kota_Kupang", "@rsud.sk.lerik"):
        agency = "rsud-sk-lerik" if "lerik" in handle else "disdukcapil-kota-kupang"
        assert of(make_post("1", author_handle=handle)) == agency
        text = f"{handle} mohon maaf atas antrean hari ini, kak"
        assert shown(text) == text
    # A private person stays hidden, as does a short word that names no agency alone.
    for handle in ("@bapak.tefa", "@dinsos", "@kupang"):
        assert of(make_post("2", author_handle=handle)) == ""
        assert shown(f"{handle} sama, beta juga antre") == "[AKUN] sama, beta juga antre"
