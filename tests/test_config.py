from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from monitor.config import (
    ConfigError,
    config_from_dict,
    example_config_text,
    load_config,
    parse_interval_seconds,
)
from monitor.labels import SECTORS


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_example_is_valid_and_covers_the_kupang_gazetteer(tmp_path):
    config = load_config(write(tmp_path, example_config_text()))
    ids = {a.id for a in config.agencies}
    assert {"disdukcapil-kota-kupang", "disdukcapil-kab-kupang", "rsud-sk-lerik"} <= ids
    assert {r.id for r in config.regions} == {"kota-kupang", "kab-kupang", "ntt"}
    assert all(a.sector in SECTORS for a in config.agencies)
    assert config.timezone == "Asia/Makassar"
    # relative paths resolve against the config file's folder
    assert config.database == tmp_path / "monitor.db"


def test_every_problem_is_reported_at_once_with_its_key(tmp_path):
    path = write(
        tmp_path,
        """
timezone = "Mars/Olympus"
databse = "x.db"
[privacy]
raw_retention_days = "thirty"
[[agencies]]
id = "Bad Id"
name = "X"
sector = "kesehatann"
region = "nowhere"
[[sources]]
name = "a"
type = "twiter"
[[sources]]
name = "a"
type = "x"
credentials = { bearer_token = "AAAAAAAAAAAAAAAAAAAAA-secret-value" }
schedule = "sometimes"
""",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    problems = "\n".join(caught.value.problems)
    assert "timezone: 'Mars/Olympus' is not an IANA time zone" in problems
    assert "databse: unknown key (did you mean 'database'?)" in problems
    assert "privacy.raw_retention_days: must be a whole number" in problems
    assert "agencies[0].id: 'Bad Id' must be lower-case" in problems
    assert "agencies[0].sector: 'kesehatann' is not one of" in problems
    assert "(did you mean 'kesehatan'?)" in problems
    assert "sources[0].type: 'twiter' is not one of x, mastodon, bluesky" in problems
    assert "sources[1].name: 'a' is used twice" in problems
    assert "sources[1].credentials: bearer_token: " in problems
    assert "sources[1].schedule: 'sometimes' is neither" in problems
    # the secret itself is not echoed back in full
    assert "AAAAAAAAAAAAAAAAAAAAA-secret-value" not in problems
    # region "nowhere" is not checked: this config defines no regions
    assert len(caught.value.problems) == 9


def test_region_references_are_checked_when_regions_exist(tmp_path):
    data = tomllib.loads(example_config_text())
    data["agencies"][0]["region"] = "kota-kupangg"
    with pytest.raises(ConfigError) as caught:
        config_from_dict(data, tmp_path)
    assert caught.value.problems == [
        "agencies[0].region: 'kota-kupangg' is not one of kota-kupang, kab-kupang, ntt "
        "(did you mean 'kota-kupang'?)"
    ]


def test_an_enabled_file_import_needs_a_path(tmp_path):
    data = tomllib.loads(example_config_text())
    source = next(s for s in data["sources"] if s["type"] == "file_import")
    assert source["path"] == "" and source["enabled"] is False
    config_from_dict(data, tmp_path)  # a disabled one is a mapping for 'monitor import'
    source["enabled"] = True
    with pytest.raises(ConfigError) as caught:
        config_from_dict(data, tmp_path)
    [problem] = caught.value.problems
    assert problem.startswith(f"sources[{data['sources'].index(source)}].path: required")
    assert "enabled = false" in problem


def test_recipients_need_an_smtp_host(tmp_path):
    with pytest.raises(ConfigError, match="digest.smtp.host: required"):
        config_from_dict({"digest": {"recipients": ["staf@example.org"]}}, tmp_path)


@pytest.mark.parametrize(
    "text, message",
    [
        ("database = [", "not valid TOML"),
        ("sources = 3", "sources: must be a list"),
        ("[[sources]]\ntype = 'rss'", "sources[0].name: required"),
    ],
)
def test_malformed_files_name_the_problem(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load_config(write(tmp_path, text))


def test_missing_file_tells_how_to_create_one(tmp_path):
    with pytest.raises(ConfigError, match="monitor init"):
        load_config(tmp_path / "nope.toml")


def test_invalid_utf8_is_a_config_error(tmp_path):
    path = tmp_path / "monitor.toml"
    path.write_bytes(b'database = "\xff.db"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


def test_schedules():
    assert parse_interval_seconds("every 15m") == 900
    assert parse_interval_seconds("every 2h") == 7200
    assert parse_interval_seconds("every 5s") == 5
    assert parse_interval_seconds("*/5 * * * *") is None


def test_type_specific_source_keys_are_checked_per_type(tmp_path):
    data = {
        "sources": [
            {"name": "x1", "type": "x", "max_posts_per_run": 5},
            {"name": "m1", "type": "mastodon", "max_posts_per_run": 50},
            {"name": "f1", "type": "file_import", "format": "xlsx"},
        ]
    }
    with pytest.raises(ConfigError) as caught:
        config_from_dict(data, tmp_path)
    problems = caught.value.problems
    assert "sources[0].max_posts_per_run: 5 must be 10 or more" in problems
    assert any(p.startswith("sources[1].max_posts_per_run: unknown key") for p in problems)
    assert any(p.startswith("sources[2].format: 'xlsx' is not one of csv, jsonl") for p in problems)
    ok = config_from_dict({"sources": [{"name": "x1", "type": "x"}]}, tmp_path)
    assert ok.sources[0].options["max_posts_per_run"] == 500
