"""A transparent keyword baseline: stands in until the trained model ships.

Every decision can be traced to the words below. Its scores are counts squashed
into 0..1, not calibrated probabilities, and the digest footer says so.
"""

from __future__ import annotations

from functools import lru_cache

from monitor.classify.locate import BASELINE_VERSION
from monitor.records import Prediction
from monitor.text.normalize import normalize

MODEL_VERSION = BASELINE_VERSION
MODEL_DESCRIPTION = "Baseline kata kunci (sementara, belum model terlatih)"

# Words and phrases in normalised form (see monitor.text.normalize).
SECTOR_WORDS: dict[str, tuple[str, ...]] = {
    "adminduk": (
        "ktp",
        "kartu keluarga",
        "kk",
        "akta",
        "kia",
        "dukcapil",
        "blanko",
        "pindah datang",
        "perekaman",
    ),
    "kesehatan": (
        "puskesmas",
        "pustu",
        "posyandu",
        "vaksin",
        "imunisasi",
        "fogging",
        "dinkes",
        "bidan",
    ),
    "rumah_sakit": (
        "rumah sakit",
        "rsud",
        "igd",
        "rawat inap",
        "poli",
        "rujukan",
        "dokter spesialis",
        "apotek",
        "lerik",
        "johannes",
        "naibonat",
    ),
    "sosial": (
        "pkh",
        "bpnt",
        "blt",
        "bansos",
        "dtks",
        "dinsos",
        "dinas sosial",
        "bantuan sosial",
        "pbi",
    ),
    "pendidikan": (
        "sekolah",
        "ppdb",
        "guru",
        "kip",
        "pip",
        "murid",
        "siswa",
        "komite sekolah",
        "dikbud",
    ),
    "pekerjaan_umum": (
        "jalan rusak",
        "jalan berlubang",
        "lubang",
        "got",
        "drainase",
        "selokan",
        "jembatan",
        "pupr",
        "aspal",
    ),
    "air_bersih": (
        "pdam",
        "air mati",
        "air keruh",
        "air bersih",
        "meteran air",
        "tangki air",
        "air tidak mengalir",
        "perumda air",
    ),
    "listrik": ("pln", "listrik", "mati lampu", "pemadaman", "token", "padam"),
    "lingkungan": (
        "sampah",
        "tps",
        "dlhk",
        "bau",
        "pencemaran",
        "kebersihan",
        "truk sampah",
    ),
    "perhubungan": (
        "parkir",
        "juru parkir",
        "jukir",
        "lampu jalan",
        "pju",
        "lampu merah",
        "angkot",
        "bemo",
        "dishub",
        "kapal",
        "feri",
        "asdp",
        "pelabuhan",
    ),
    "ketertiban": (
        "satpol pp",
        "pkl",
        "pedagang kaki lima",
        "bangunan liar",
        "keributan",
        "mabuk",
        "tempat hiburan",
    ),
    "perizinan": ("izin", "ptsp", "dpmptsp", "oss", "nib", "pbg", "imb", "mpp"),
    "pertanahan": (
        "sertifikat",
        "bpn",
        "pertanahan",
        "tanah",
        "ukur ulang",
        "batas tanah",
    ),
    "perumahan": (
        "rusunawa",
        "rumah tidak layak huni",
        "rtlh",
        "perkim",
        "bedah rumah",
    ),
    "kepolisian": (
        "polisi",
        "polres",
        "polresta",
        "polsek",
        "skck",
        "sim",
        "tilang",
        "polda",
        "laporan polisi",
    ),
    "pemerintahan_wilayah": (
        "kelurahan",
        "lurah",
        "camat",
        "kecamatan",
        "surat pengantar",
        "surat keterangan",
        "rt rw",
    ),
    "ketenagakerjaan": (
        "disnaker",
        "kartu kuning",
        "ak1",
        "upah",
        "phk",
        "lowongan",
        "pesangon",
    ),
    "pajak_daerah": (
        "samsat",
        "pajak kendaraan",
        "pbb",
        "bapenda",
        "retribusi",
        "pajak",
    ),
    "kebencanaan": (
        "bpbd",
        "banjir",
        "longsor",
        "kebakaran",
        "damkar",
        "pemadam",
        "bencana",
    ),
}

TOPIC_WORDS: dict[str, tuple[str, ...]] = {
    "penundaan": (
        "belum jadi",
        "belum jadi-jadi",
        "belum keluar",
        "belum selesai",
        "belum cair",
        "tidak jadi-jadi",
        "lama sekali",
        "berbulan",
        "berminggu",
        "lambat",
        "molor",
        "tidak diproses",
        "belum diproses",
        "tertunda",
        "belum ada kabar",
    ),
    "antrean": (
        "antre",
        "antrean",
        "antri",
        "dari subuh",
        "dari pagi",
        "menunggu berjam",
        "tunggu lama",
        "nomor antrean",
    ),
    "pungli": (
        "pungli",
        "calo",
        "uang rokok",
        "uang pelicin",
        "biar cepat",
        "suap",
        "minta uang",
        "uang damai",
        "uang percepatan",
        "uang transport",
        "tanpa kuitansi",
        "urus cepat",
        "pungutan liar",
    ),
    "biaya": (
        "mahal",
        "biaya",
        "tarif",
        "ditagih",
        "tagihan",
        "bayar lagi",
        "tidak ditanggung",
        "pungutan",
    ),
    "sikap_petugas": (
        "judes",
        "jutek",
        "kasar",
        "bentak",
        "dibentak",
        "marah-marah",
        "main hp",
        "tidak ramah",
        "tidak ada di tempat",
        "cuek",
        "sombong",
    ),
    "kekurangan_sumber_daya": (
        "habis",
        "kosong",
        "tidak ada dokter",
        "dokter tidak ada",
        "obat habis",
        "blanko habis",
        "kamar penuh",
        "kurang tenaga",
        "stok",
        "kehabisan",
    ),
    "gangguan_sistem": (
        "server",
        "offline",
        "error",
        "eror",
        "sistem",
        "aplikasi",
        "jaringan",
        "down",
        "gangguan",
        "website",
        "web",
    ),
    "prosedur_berbelit": (
        "berbelit",
        "dioper",
        "bolak-balik",
        "bolak balik",
        "syarat",
        "ribet",
        "dipersulit",
        "disuruh kembali",
    ),
    "informasi_tidak_jelas": (
        "tidak ada info",
        "tidak jelas",
        "informasi",
        "tidak diangkat",
        "tidak ada pemberitahuan",
        "bingung",
        "simpang siur",
    ),
    "tidak_ditanggapi": (
        "tidak dilayani",
        "tidak direspon",
        "tidak ditanggapi",
        "diabaikan",
        "ditolak",
        "tidak digubris",
        "tidak ada tanggapan",
        "tidak dibalas",
    ),
    "fasilitas_rusak": (
        "rusak",
        "berlubang",
        "kotor",
        "bocor",
        "mati",
        "gelap",
        "panas",
        "sempit",
        "tidak berfungsi",
        "tergenang",
    ),
    "diskriminasi": (
        "orang dalam",
        "didahulukan",
        "pilih kasih",
        "dibedakan",
        "kenalan",
        "titipan",
        "tidak adil",
    ),
}

COMPLAINT_WORDS = (
    "tolong",
    "mohon",
    "kecewa",
    "parah",
    "payah",
    "bagaimana ini",
    "kapan",
    "sudah",
    "belum",
    "tidak",
    "sampai kapan",
    "capek",
    "kesal",
    "marah",
    "keluhan",
    "mengeluh",
    "lapor",
    "ombudsman",
    "percuma",
    "aduh",
    "astaga",
    "ampun",
)
NOT_COMPLAINT_WORDS = (
    "terima kasih",
    "makasih",
    "mantap pelayanan",
    "cepat sekali",
    "ramah",
    "apresiasi",
    "sosialisasi",
    "menggelar",
    "membuka layanan",
    "buka layanan",
    "mengimbau",
    "menghadiri",
    "meresmikan",
    "launching",
    "peluncuran",
    "jadwal",
    "pengumuman",
    "info",
    "bertanya",
)


def _phrase_hits(text: str, phrases: tuple[str, ...]) -> list[str]:
    padded = f" {text} "
    return [p for p in phrases if f" {p} " in padded]


@lru_cache(maxsize=1)
def _cue_lists() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(feature word, phrases) for keyword_cues, in a fixed order."""
    return (
        *((f"zkw{sector}", words) for sector, words in SECTOR_WORDS.items()),
        ("zkwcue", COMPLAINT_WORDS),
        ("zkwtopic", tuple(w for words in TOPIC_WORDS.values() for w in words)),
        ("zkwnot", NOT_COMPLAINT_WORDS),
    )


@lru_cache(maxsize=1)
def _cue_index() -> dict[str, list[tuple[str, str]]]:
    """First word of each phrase -> (phrase, feature word): only phrases whose first word
    is in a text are searched for, which keeps this cheap for every post."""
    index: dict[str, list[tuple[str, str]]] = {}
    for feature, phrases in _cue_lists():
        for phrase in phrases:
            index.setdefault(phrase.split()[0], []).append((phrase, feature))
    return index


def keyword_cues(normalized_text: str) -> list[str]:
    """The keyword rule's findings as feature words for the trained model: a
    ``zkw<sector>`` per sector whose words appear, ``zkwcue`` for complaint words,
    ``zkwtopic`` for failure words and ``zkwnot`` for chatter words (the same
    whole-phrase matching as the rule itself)."""
    padded = f" {normalized_text} "
    index = _cue_index()
    found: set[str] = set()
    for word in set(normalized_text.split()):
        for phrase, feature in index.get(word, ()):
            if feature not in found and (" " not in phrase or f" {phrase} " in padded):
                found.add(feature)
    return [feature for feature, _ in _cue_lists() if feature in found]


class KeywordBaseline:
    version = MODEL_VERSION
    description = MODEL_DESCRIPTION

    def predict_normalized(self, text: str) -> Prediction:
        topic_hits = {t: _phrase_hits(text, words) for t, words in TOPIC_WORDS.items()}
        topic_scores = {t: round(min(1.0, 0.6 * len(h)), 2) for t, h in topic_hits.items() if h}
        cues = len(_phrase_hits(text, COMPLAINT_WORDS))
        against = len(_phrase_hits(text, NOT_COMPLAINT_WORDS))
        raw = 0.45 * min(len(topic_scores), 2) + 0.15 * min(cues, 3) - 0.4 * against
        score = round(max(0.0, min(1.0, raw)), 2)
        is_complaint = score >= 0.5
        sector_hits = {s: len(_phrase_hits(text, words)) for s, words in SECTOR_WORDS.items()}
        sector, hits = max(sector_hits.items(), key=lambda item: item[1])
        if hits == 0:
            sector = "lainnya"
        return Prediction(
            is_complaint=is_complaint,
            complaint_score=score,
            sector=sector,
            sector_score=round(hits / (hits + 1), 2),
            topics=sorted(topic_scores) if is_complaint else [],
            topic_scores=topic_scores if is_complaint else {},
            needs_review=0.3 <= score < 0.7,
        )

    def predict(self, texts: list[str]) -> list[Prediction]:
        return [self.predict_normalized(normalize(text)) for text in texts]
