"""Faults around a run: a disk that is full, a database another process holds, no DNS."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import httpx
import pytest

from monitor.config import SourceConfig, example_config_text
from monitor.pipeline import run
from monitor.store import Store


def replay(tmp_path: Path, count: int = 3) -> Path:
    path = tmp_path / "posts.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"p{i}",
                    "days_ago": 1,
                    "time": "08:00",
                    "text": f"sudah {i + 2} bulan ktp belum jadi di dukcapil kota kupang no {i}",
                }
            )
            + "\n"
            for i in range(count)
        ),
        encoding="utf-8",
    )
    return path


def test_a_full_disk_when_writing_the_report_is_reported_and_nothing_stored_is_lost(tmp_path):
    """A real write limit (RLIMIT_FSIZE) in a real `monitor run` subprocess."""
    posts = replay(tmp_path)
    config = tmp_path / "monitor.toml"
    config.write_text(
        example_config_text()
        + f'\n[[sources]]\nname = "r"\ntype = "replay"\npath = "{posts.name}"\n',
        encoding="utf-8",
    )
    (tmp_path / "reports").mkdir()
    # The database and its WAL fit below the limit; the report's chart does not.
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
        from monitor.store import Store
        Store.open({str(tmp_path / "monitor.db")!r}).close()
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096 * 1024, 4096 * 1024))
        import monitor.report.digest as digest
        real = digest.write_atomic
        def limited(path, content):
            resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 4096 * 1024))
            try:
                real(path, content)
            finally:
                resource.setrlimit(resource.RLIMIT_FSIZE, (4096 * 1024, 4096 * 1024))
        digest.write_atomic = limited
        from monitor.cli import main
        sys.exit(main(["--config", {str(config)!r}, "run"]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1, done.stderr
    assert "PROBLEM: digest not written" in done.stdout
    with Store.open(tmp_path / "monitor.db") as store:
        assert store.count_posts() == 3
        assert store.db.execute("SELECT count(*) FROM analysis").fetchone()[0] == 3
        status, errors = store.db.execute("SELECT status, errors FROM runs").fetchone()
        assert status == "partial" and "digest not written" in errors
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert not list((tmp_path / "reports").glob(".*tmp*"))  # no half-written file left


def test_a_database_held_by_another_process_for_a_while_is_waited_for(tmp_path, config):
    config.sources = [SourceConfig(name="r", type="replay", path=str(replay(tmp_path)))]
    Store.open(config.database).close()
    holder = sqlite3.connect(config.database, timeout=30, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another process writing, say a backup tool
    letting_go = threading.Event()

    def let_go() -> None:
        letting_go.set()  # set first: the run cannot finish before the rollback below
        holder.rollback()

    releaser = threading.Timer(1.5, let_go)
    releaser.start()
    report = run(config)
    finished_after_the_holder_let_go = letting_go.is_set()
    releaser.join()
    holder.close()
    assert finished_after_the_holder_let_go  # it waited instead of failing
    assert report.processed == 3 and not report.errors


def test_dns_failure_is_a_source_error_and_the_others_go_on(tmp_path, config, monkeypatch):
    lookups: list[str] = []

    def no_dns(host, *args, **kwargs):
        if host == "api.example.invalid":
            lookups.append(host)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    config.sources = [
        SourceConfig(name="good", type="replay", path=str(replay(tmp_path))),
        SourceConfig(
            name="news",
            type="rss",
            base_url="http://api.example.invalid",
            queries=[f"dukcapil {n}" for n in range(13)],
            options={"feeds": [], "google_news": True},
        ),
    ]
    report = run(config)
    by_name = {s.source: s for s in report.sources}
    assert by_name["good"].new == 3
    assert "cannot connect" in by_name["news"].error
    # One lookup for 13 feeds on that host: no retries, the host skipped for the run.
    assert lookups == ["api.example.invalid"]
    with Store.open(config.database) as store:
        [error] = [h.last_error for h in store.source_health(since="") if h.source == "news"]
    assert error
    html = Path(report.digest_paths[0]).read_text(encoding="utf-8")
    footer = html.split("Kesehatan data")[-1]
    assert "news" in footer  # the footer names the failing source
    # ... and says what went wrong in Indonesian, the technical text for the operator after
    assert "Gagal: server sumber tidak dapat dihubungi." in footer
    assert footer.index("Gagal:") < footer.index("Pesan teknis untuk operator: ")
    # and the digest opens by saying its figures are incomplete, naming the source
    assert "Data tidak lengkap: 1 dari 2 sumber gagal" in html.split("pengaduan hari itu")[0]
    with pytest.raises(httpx.ConnectError):
        httpx.get("http://api.example.invalid/")


@pytest.mark.parametrize(
    "error, meaning",
    [
        (
            "GET https://api.x.com/2/tweets/search/recent: X refused the bearer token (401)",
            "kunci akses ditolak",
        ),
        (
            "source 'x-kupang' needs credentials.bearer_token: add credentials = {...}",
            "kunci akses (kredensial) belum diisi",
        ),
        (
            "GET http://h/feed: timed out (no complete answer within 20 s) (after 4 tries)",
            "terlalu lambat",
        ),
        (
            "GET http://h/x: the server answered 503 Service Unavailable (after 4 tries)",
            "sedang bermasalah",
        ),
        (
            "/2/tweets/search/recent: query 'q': the answer holds neither 'data' nor 'meta'",
            "tidak sesuai format",
        ),
        ("something nobody foresaw", "sumber gagal dibaca"),
    ],
)
def test_the_digest_says_what_a_source_failure_means_in_indonesian(error, meaning):
    from monitor.report.digest import failure_in_indonesian

    assert meaning in failure_in_indonesian(error)
