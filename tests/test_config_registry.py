"""Config defaults are written once, and each collector module declares its own keys."""

from __future__ import annotations

import importlib
import subprocess
import sys
from dataclasses import dataclass, field

import pytest

from monitor.collectors import COLLECTOR_MODULES, build_collector, source_types
from monitor.config import ConfigError, SourceConfig, config_from_dict
from monitor.config.keys import Key, keys_for, with_defaults
from monitor.config.sections import SOURCE, TOP, HttpConfig


@dataclass
class Section:
    name: str
    count: int = 3
    items: list[str] = field(default_factory=list)


def test_a_section_key_takes_its_default_from_the_dataclass():
    spec = keys_for(Section, name=Key(str, required=True), count=Key(int), items=Key("list[str]"))
    assert spec["count"].initial() == 3
    items = spec["items"]
    assert items.initial() == [] and items.initial() is not items.initial()
    assert spec["name"].initial() == ""  # a stand-in until the problem is reported


def test_a_default_written_twice_or_not_at_all_is_refused():
    with pytest.raises(TypeError, match="written twice"):
        keys_for(Section, count=Key(int, 4))
    with pytest.raises(TypeError, match="no default"):
        keys_for(Section, name=Key(str))


def test_sections_read_the_dataclass_defaults(tmp_path):
    config = config_from_dict({}, tmp_path)
    assert config.http == HttpConfig()
    assert config.database == tmp_path / TOP["database"].initial()


def test_every_collector_module_declares_its_type_keys_and_class():
    types = source_types()
    assert list(types) == ["x", "mastodon", "bluesky", "youtube", "rss", "file_import", "replay"]
    for module_name in COLLECTOR_MODULES:
        declared = importlib.import_module(module_name).SOURCE_TYPE
        assert types[declared.name] is declared
        assert not set(declared.options) & set(SOURCE), "a type's keys must not shadow common ones"


def test_source_options_come_from_the_collectors_spec(tmp_path):
    config = config_from_dict({"sources": [{"name": "b", "type": "bluesky"}]}, tmp_path)
    assert config.sources[0].options == with_defaults(source_types()["bluesky"].options, {})
    with pytest.raises(ConfigError) as error:
        config_from_dict({"sources": [{"name": "b", "type": "rss", "max_pages": 2}]}, tmp_path)
    assert error.value.problems[0].startswith("sources[0].max_pages: unknown key")


def test_a_collector_built_in_code_gets_the_defaults_of_absent_options():
    from monitor.clock import utc_now
    from monitor.collectors import CollectContext

    source = SourceConfig(name="b", type="bluesky", options={"max_pages": 3})
    collector = build_collector(source, CollectContext(now=utc_now(), timezone="Asia/Makassar"))
    assert (collector.lang, collector.max_pages) == ("id", 3)


def test_reading_a_config_imports_no_heavy_library():
    heavy = ("sklearn", "nltk", "scipy", "matplotlib", "Sastrawi", "rapidfuzz")
    code = (
        "import sys; from pathlib import Path; from monitor.config import example_config; "
        "example_config(Path('.')); "
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
