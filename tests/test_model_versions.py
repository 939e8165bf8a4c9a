"""Model versions: list, activate, roll back; the active model used everywhere; only the
re-analysis window re-analysed; a SIGKILL during an activation changes nothing."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from monitor.activation import ActivationError, activate_model, rollback_model
from monitor.aggregate import aggregate_days, days_of
from monitor.classify import MODEL_DIR_ENV, load_model, model_version
from monitor.classify.locate import shipped_model_dir
from monitor.classify.model import ModelError
from monitor.classify.versions import DATA_FOLDER, UnknownModel, find_model, list_models
from monitor.clock import local_date, parse_iso
from monitor.config import ConfigError, SourceConfig, config_from_dict, example_config_text
from monitor.doctor import FAIL, OK, run_doctor
from monitor.pipeline import collect_job, process_job, reanalysis_start
from monitor.store import Store

V1, V2 = "test-small", "test-small-b"
WINDOW = 10  # [model] reanalyse_days in these tests
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def saved(tmp_path_factory, small_model) -> Path:
    """Two model versions on disk: the session's small model, and a copy of it that calls
    more posts complaints (a lower threshold; its files are the same)."""
    root = tmp_path_factory.mktemp("saved")
    small_model.save(root / "v1")
    shutil.copytree(root / "v1", root / "v2")
    card = json.loads((root / "v2" / "card.json").read_text(encoding="utf-8"))
    card.update(version=V2, office_labels={"count": 7})
    card.setdefault("thresholds", {})["complaint"] = 0.05
    (root / "v2" / "card.json").write_text(json.dumps(card), encoding="utf-8")
    return root


def complaint(i: int) -> str:
    what = ["ktp", "kartu keluarga", "akta kelahiran", "kia", "surat pindah"][i % 5]
    how = ["belum jadi", "ditolak tanpa alasan", "blanko habis", "sistem offline"][i // 5 % 4]
    return f"urus {what} di dukcapil kota kupang {how}, sudah {i + 2} kali datang"


def neutral(i: int) -> str:
    return f"antre di dukcapil kota kupang pagi ini, lumayan cepat dilayani ({i})"


def add_posts(tmp_path: Path, config, lines: list[dict]) -> None:
    path = tmp_path / "posts.jsonl"
    with path.open("a", encoding="utf-8") as handle:
        for line in lines:
            handle.write(json.dumps(line) + "\n")
    config.sources = [SourceConfig(name="r", type="replay", path=str(path), region="kota-kupang")]
    collect_job(config)


def post(i: int, days_ago: int) -> dict:
    text = complaint(i) if i % 3 else neutral(i)
    return {"id": f"p{i}", "days_ago": days_ago, "time": "09:00", "text": text}


@pytest.fixture
def world(tmp_path, config, saved):
    """A database with 40 posts over 25 days, both versions in the data folder's
    models/, v1 activated and every post processed with it."""
    shutil.copytree(saved, tmp_path / "models")
    config.model.reanalyse_days = WINDOW
    add_posts(tmp_path, config, [post(i, i % 25 + 1) for i in range(40)])
    activate_model(config, V1, "test")
    process_job(config)
    return config


def counts(config) -> list[tuple]:
    with Store.open(config.database) as store:
        return store.db.execute("SELECT * FROM daily_counts ORDER BY 1, 2, 3, 4").fetchall()


def from_scratch(config, version: str, days: set[date]) -> list[tuple]:
    """The daily counts of ``days`` recomputed with ``version`` in a copy of the database."""
    copy = config.database.parent / "scratch.db"
    copy.unlink(missing_ok=True)
    source, target = sqlite3.connect(config.database), sqlite3.connect(copy)
    with source, target:
        source.backup(target)
    source.close()
    target.close()
    with Store.open(copy) as store:
        store.db.execute("DELETE FROM daily_counts")
        aggregate_days(store, days, config.timezone, version)
        return store.db.execute("SELECT * FROM daily_counts ORDER BY 1, 2, 3, 4").fetchall()


def post_days(config) -> tuple[set[date], set[date]]:
    """(all local days with posts, those before the re-analysis window)."""
    with Store.open(config.database) as store:
        created = [r[0] for r in store.db.execute("SELECT created_at FROM posts")]
    first = local_date(parse_iso(reanalysis_start(config)), config.timezone)
    days = days_of(created, config.timezone)
    return days, {d for d in days if d < first}


def analysed(config, version: str) -> int:
    with Store.open(config.database) as store:
        return store.db.execute(
            "SELECT count(*) FROM analysis WHERE model_version = ?", [version]
        ).fetchone()[0]


# --- listing and finding ----------------------------------------------------------------


def test_list_shows_shipped_and_data_folder_models_and_marks_the_active(world, tmp_path):
    with Store.open(world.database) as store:
        entries = {e.version: e for e in list_models(world, store)}
        assert entries[V1].active and not entries[V2].active
        assert entries[V2].where == DATA_FOLDER and entries[V2].office_labels == 7
        assert entries[V2].folder == (tmp_path / "models" / "v2").resolve()
        assert entries[V1].office_labels is None and entries[V1].trained_at
        if shipped_model_dir():
            assert any(e.where == "shipped" for e in entries.values())
        with pytest.raises(UnknownModel, match=f"known versions: .*{V2} \\(data folder\\)"):
            find_model(world, store, "no-such-version")


# --- which model is used ----------------------------------------------------------------


def test_load_model_prefers_folder_then_env_then_active_then_shipped(
    world, saved, tmp_path, monkeypatch
):
    monkeypatch.delenv(MODEL_DIR_ENV, raising=False)
    with Store.open(world.database) as store:
        assert load_model(store=store).version == V1 == model_version(store=store)
        assert load_model(saved / "v2", store=store).version == V2
        monkeypatch.setenv(MODEL_DIR_ENV, str(saved / "v2"))
        assert load_model(store=store).version == V2 == model_version(store=store)
        monkeypatch.delenv(MODEL_DIR_ENV)
    shipped = shipped_model_dir()
    assert load_model().version == (model_version() if shipped else "keyword-baseline-1")
    shutil.rmtree(tmp_path / "models" / "v1")  # the active model's folder is gone
    with Store.open(world.database) as store, pytest.raises(ModelError) as caught:
        load_model(store=store)
    assert "monitor model rollback" in str(caught.value) and V1 in str(caught.value)
    with pytest.raises(ModelError, match="rollback"):
        process_job(world)


def test_process_uses_the_active_model(world):
    with Store.open(world.database) as store:
        versions = {r[0] for r in store.db.execute("SELECT model_version FROM daily_counts")}
    assert versions == {V1} and analysed(world, V1) == 40 and analysed(world, V2) == 0


# --- activation and the re-analysis window ----------------------------------------------


def test_activation_reanalyses_only_the_window_and_recounts_it_whole(world):
    days, old = post_days(world)
    before = counts(world)
    report = activate_model(world, V2, "maria", reason="lower threshold")
    window = days - old
    with Store.open(world.database) as store:
        assert store.active_model().version == V2
        assert store.active_model().previous_version == V1
        in_window = store.db.execute(
            "SELECT count(*) FROM posts WHERE created_at >= ?",
            [reanalysis_start(world)[:10]],  # generous: the check below is exact
        ).fetchone()[0]
        v2_days = days_of(
            [
                r[0]
                for r in store.db.execute(
                    """SELECT p.created_at FROM posts p JOIN analysis a ON a.post_id = p.id
                       WHERE a.model_version = ?""",
                    [V2],
                )
            ],
            world.timezone,
        )
    assert v2_days == window and 0 < report.posts_reanalysed <= in_window
    assert report.posts_reanalysed == analysed(world, V2)
    assert report.days_recounted >= len(window) and report.complaints_after >= 1
    after = counts(world)
    # old days keep their rows, counted by v1; the window's equal a recompute with v2
    assert [r for r in after if date.fromisoformat(r[0]) in old] == [
        r for r in before if date.fromisoformat(r[0]) in old
    ]
    assert {r[-1] for r in after if date.fromisoformat(r[0]) in old} == {V1}
    assert [r for r in after if date.fromisoformat(r[0]) in window] == from_scratch(
        world, V2, window
    )
    assert report.complaints_after > report.complaints_before  # v2 says "complaint" sooner
    assert process_job(world)[0] == 0  # nothing left for the new model


def test_a_late_post_for_an_old_day_reanalyses_that_day_whole(world, tmp_path):
    activate_model(world, V2, "test")
    days, old = post_days(world)
    late_day = max(old)
    days_ago = (local_date(parse_iso(reanalysis_start(world)), world.timezone) - late_day).days
    days_ago += WINDOW
    add_posts(tmp_path, world, [{**post(900, days_ago), "text": complaint(900)}])
    processed, recounted = process_job(world)
    with Store.open(world.database) as store:
        day_posts = store.db.execute(
            "SELECT count(*) FROM posts WHERE date(created_at, '+8 hours') = ?",
            [late_day.isoformat()],
        ).fetchone()[0]
    assert recounted == [late_day] and processed == day_posts > 1
    rows = counts(world)
    assert {r[-1] for r in rows if r[0] == late_day.isoformat()} == {V2}
    assert [r for r in rows if r[0] == late_day.isoformat()] == from_scratch(world, V2, {late_day})
    assert {r[-1] for r in rows if date.fromisoformat(r[0]) in old - {late_day}} == {V1}


def test_rollback_goes_back_and_refusals_change_nothing(world, config):
    with pytest.raises(ActivationError, match="already the active model"):
        activate_model(world, V1, "test")
    with pytest.raises(ActivationError, match="no model version 'nope'"):
        activate_model(world, "nope", "test")
    first = counts(world)
    activate_model(world, V2, "test")
    report = rollback_model(world, "maria")
    assert (report.version, report.previous_version, report.posts_reanalysed) == (V1, V2, 0)
    with Store.open(world.database) as store:
        history = store.model_activations()
        assert [h.version for h in history] == [V1, V2, V1]
        assert history[0].reason == f"rollback from {V2}" and history[0].activated_by == "maria"
    assert counts(world) == first  # the window recounted with v1 again: as before


def test_rollback_without_an_activation_is_refused(tmp_path, config):
    Store.open(config.database).close()
    with pytest.raises(ActivationError, match="nothing to roll back"):
        rollback_model(config, "test")


def test_doctor_names_the_active_model_and_fails_when_its_folder_is_gone(world, tmp_path):
    world.sources = [SourceConfig(name="demo", type="replay")]
    [check] = [c for c in run_doctor(world, environ={}) if c.area == "model"]
    assert check.status == OK and V1 in check.detail and "activated" in check.detail
    shutil.rmtree(tmp_path / "models" / "v1")
    [check] = [c for c in run_doctor(world, environ={}) if c.area == "model"]
    assert check.status == FAIL and "monitor model rollback" in check.detail


def test_reanalyse_days_is_validated(tmp_path):
    assert config_from_dict({}, tmp_path).model.reanalyse_days == 30
    assert "reanalyse_days = 30" in example_config_text()
    for bad in (0, -3, "30", 1.5):
        with pytest.raises(ConfigError, match="model.reanalyse_days"):
            config_from_dict({"model": {"reanalyse_days": bad}}, tmp_path)
    with pytest.raises(ConfigError, match="model.reanalyse"):
        config_from_dict({"model": {"reanalyse": 3}}, tmp_path)


# --- a SIGKILL in the middle ------------------------------------------------------------

ACTIVATE = """
import sys, time
from pathlib import Path
from monitor.activation import activate_model
from monitor.config import example_config

config = example_config(Path(sys.argv[1]))
config.sources = []
config.model.reanalyse_days = int(sys.argv[3])

def progress(message):
    print(message, flush=True)
    if message.startswith("processed"):
        time.sleep(0.5)  # slow enough to be killed while re-analysing

activate_model(config, sys.argv[2], "test", progress=progress, batch_size=2)
print("DONE", flush=True)
"""


def test_sigkill_during_activation_keeps_the_old_model_and_its_counts(world):
    days, _ = post_days(world)
    proc = subprocess.Popen(
        [sys.executable, "-c", ACTIVATE, str(world.database.parent), V2, str(WINDOW)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        for line in proc.stdout:  # wait until it has saved analyses by the new version
            if line.startswith("processed: 4 posts"):
                break
        else:
            pytest.fail(f"the activation ended early: {proc.stderr.read()}")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    saved_before_kill = analysed(world, V2)
    assert saved_before_kill >= 4
    with Store.open(world.database) as store:
        assert store.active_model().version == V1
        assert store.integrity_check() == "ok"
    assert counts(world) == from_scratch(world, V1, days)
    report = activate_model(world, V2, "test")  # goes on where the killed one stopped
    assert report.posts_reanalysed == analysed(world, V2) - saved_before_kill
    with Store.open(world.database) as store:
        assert store.active_model().version == V2
