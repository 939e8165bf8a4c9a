"""The one place for label keys and their Indonesian names (docs/TAXONOMY.md describes them).

Keys are stable identifiers used in the database, config, model and exports;
renaming or removing one is a breaking change.
"""

SECTORS: dict[str, str] = {
    "adminduk": "Administrasi kependudukan",
    "kesehatan": "Layanan kesehatan dasar",
    "rumah_sakit": "Rumah sakit",
    "sosial": "Bantuan sosial",
    "pendidikan": "Pendidikan",
    "pekerjaan_umum": "Jalan, jembatan, drainase",
    "air_bersih": "Air bersih",
    "listrik": "Listrik",
    "lingkungan": "Kebersihan dan lingkungan",
    "perhubungan": "Perhubungan",
    "ketertiban": "Ketertiban umum",
    "perizinan": "Perizinan",
    "pertanahan": "Pertanahan",
    "perumahan": "Perumahan",
    "kepolisian": "Kepolisian",
    "pemerintahan_wilayah": "Kelurahan dan kecamatan",
    "ketenagakerjaan": "Ketenagakerjaan",
    "pajak_daerah": "Pajak dan retribusi daerah",
    "kebencanaan": "Bencana dan kebakaran",
    "lainnya": "Lainnya",
}

TOPICS: dict[str, str] = {
    "penundaan": "Penundaan berlarut / proses lambat",
    "antrean": "Antrean panjang",
    "pungli": "Pungutan liar, calo, suap",
    "biaya": "Biaya tidak jelas atau mahal",
    "sikap_petugas": "Sikap petugas",
    "kekurangan_sumber_daya": "Kekurangan tenaga, obat, alat, blanko",
    "gangguan_sistem": "Sistem atau aplikasi bermasalah",
    "prosedur_berbelit": "Prosedur berbelit",
    "informasi_tidak_jelas": "Informasi tidak jelas",
    "tidak_ditanggapi": "Tidak dilayani / tidak ditanggapi",
    "fasilitas_rusak": "Fasilitas atau infrastruktur buruk",
    "diskriminasi": "Diskriminasi / didahulukan orang dalam",
}

UNRESOLVED_AGENCY = ""
UNRESOLVED_AGENCY_NAME = "Tidak teridentifikasi"


def sector_name(key: str) -> str:
    return SECTORS.get(key, key or "-")


def topic_name(key: str) -> str:
    return TOPICS.get(key, key)
