"""`monitor` answers without loading the heavy libraries a command may need later.

Cron starts the command every day and staff type `monitor --help`: importing
scikit-learn, nltk, scipy and matplotlib costs seconds, so only the commands that use
them import them. Checked with Python's own import log (-X importtime), in a fresh
process, never with a clock.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = {"sklearn", "nltk", "scipy", "matplotlib", "Sastrawi", "rapidfuzz"}


def imported_packages(*args: str, cwd: Path) -> set[str]:
    """The top-level packages `python -m monitor ARGS` imports, from its import log."""
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_CONFIG"}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "monitor", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name != "package":  # the header line
                names.add(name.split(".")[0])
    assert "monitor" in names, "no import log: did -X importtime stop working?"
    return names


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["init", "monitor.toml"]])
def test_the_command_line_starts_without_heavy_libraries(args, tmp_path):
    loaded = imported_packages(*args, cwd=tmp_path) & HEAVY
    assert not loaded, f"'monitor {' '.join(args)}' imports {sorted(loaded)}"


def test_init_in_a_fresh_process_writes_the_example(tmp_path):
    imported_packages("init", "sub/monitor.toml", cwd=tmp_path)
    assert "[[sources]]" in (tmp_path / "sub" / "monitor.toml").read_text(encoding="utf-8")
