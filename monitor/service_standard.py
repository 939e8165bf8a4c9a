"""The Ombudsman's own frame: the components of the service standard.

The Ombudsman RI's compliance surveys assess a public service by the components of
its service standard (UU 25/2009 on public services, PermenPAN-RB 15/2014 on service
standards). Each of our 12 topics (``monitor.labels.TOPICS``) is mapped to exactly one
component, so the digest and the agency pages can speak in that frame too. The
mapping is documented in docs/TAXONOMY.md; keep the two in step.

Counting: a complaint counts **once per component**, even when two of its topics map
to the same component (``pungli`` and ``biaya`` are both *biaya*). That cannot be
done from per-topic totals: ``daily_counts`` holds, per day and topic, the number of
distinct complaints carrying that topic, so adding the rows of ``pungli`` and
``biaya`` counts a complaint with both topics twice. ``count_components`` therefore
takes the complaints themselves (an id and its topic keys), not a topic-count
mapping.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from monitor.labels import TOPICS


@dataclass(frozen=True)
class Component:
    key: str
    name: str  # Indonesian, as readers see it
    description: str  # one line, Indonesian


COMPONENTS: dict[str, Component] = {
    c.key: c
    for c in (
        Component(
            "persyaratan",
            "Persyaratan",
            "Syarat (dokumen, administrasi) yang harus dipenuhi untuk mendapat layanan",
        ),
        Component(
            "prosedur",
            "Sistem, mekanisme dan prosedur",
            "Tata cara pelayanan bagi pemberi dan penerima layanan, termasuk pengaduan",
        ),
        Component(
            "waktu",
            "Jangka waktu penyelesaian",
            "Waktu yang diperlukan untuk menyelesaikan seluruh proses pelayanan",
        ),
        Component(
            "biaya",
            "Biaya/tarif",
            "Ongkos yang dikenakan kepada penerima layanan, sesuai ketetapan",
        ),
        Component(
            "informasi",
            "Informasi pelayanan",
            "Keterbukaan informasi tentang standar, syarat, biaya dan waktu layanan",
        ),
        Component(
            "sarana_prasarana",
            "Sarana, prasarana dan fasilitas",
            "Peralatan, tempat, sistem dan tenaga/bahan yang menunjang pelayanan",
        ),
        Component(
            "perilaku_pelaksana",
            "Perilaku pelaksana",
            "Sikap petugas dalam memberikan layanan: sopan, adil, tidak diskriminatif",
        ),
        Component(
            "penanganan_pengaduan",
            "Penanganan pengaduan, saran dan masukan",
            "Tata cara dan tindak lanjut pengaduan masyarakat",
        ),
    )
}

# topic key -> component key: exactly one component per topic, kept simple.
TOPIC_COMPONENT: dict[str, str] = {
    "penundaan": "waktu",
    # A long queue is time lost before being served: the standard's "jangka waktu".
    # When the cause is too few counters, staff or machines the model also tags
    # ``kekurangan_sumber_daya``, which goes to sarana_prasarana.
    "antrean": "waktu",
    "pungli": "biaya",
    "biaya": "biaya",
    "sikap_petugas": "perilaku_pelaksana",
    "diskriminasi": "perilaku_pelaksana",
    "kekurangan_sumber_daya": "sarana_prasarana",
    "fasilitas_rusak": "sarana_prasarana",
    "gangguan_sistem": "sarana_prasarana",
    # Requirements that change from visit to visit ("syarat berubah-ubah") are part of
    # this topic; no topic tells them apart, so *persyaratan* has no topic and is shown
    # as not measured rather than as 0.
    "prosedur_berbelit": "prosedur",
    "informasi_tidak_jelas": "informasi",
    "tidak_ditanggapi": "penanganan_pengaduan",
}

# Components no topic maps to: the posts cannot tell us about them.
UNMEASURED = tuple(key for key in COMPONENTS if key not in set(TOPIC_COMPONENT.values()))


def component_of(topic: str) -> str | None:
    """The component of a topic key; None for a key the taxonomy does not know."""
    return TOPIC_COMPONENT.get(topic)


def components_of(topics: Iterable[str]) -> set[str]:
    """The components a complaint with these topic keys touches (each once)."""
    return {c for c in (component_of(t) for t in topics) if c is not None}


def count_components(complaints: Iterable[tuple[Hashable, Iterable[str]]]) -> dict[str, int]:
    """Complaints per component, every component key present (0 when none).

    ``complaints`` is (complaint id, topic keys) per post; posts with the same id (copies
    of one complaint, a case) count once, and a complaint counts once per component
    however many of its topics map there. So a component's number is at least its
    largest topic's and at most the sum of its topics' complaint counts. The numbers
    need not add up to the number of complaints: a complaint may touch several
    components or none (no topic recognised).
    """
    seen: dict[str, set[Hashable]] = {key: set() for key in COMPONENTS}
    for complaint_id, topics in complaints:
        for component in components_of(topics):
            seen[component].add(complaint_id)
    return {key: len(ids) for key, ids in seen.items()}


def topics_of(component: str) -> list[str]:
    """The topic keys mapped to a component, in taxonomy order."""
    return [topic for topic in TOPICS if TOPIC_COMPONENT.get(topic) == component]


def component_rows(counts: dict[str, int]) -> list[tuple[Component, int | None]]:
    """(component, complaints) in the standard's order, None for an unmeasured one."""
    return [
        (component, None if key in UNMEASURED else counts.get(key, 0))
        for key, component in COMPONENTS.items()
    ]
