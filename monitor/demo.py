"""The offline demo: the whole pipeline on bundled invented posts, in a folder of its own.

``run_demo`` writes a real config into the folder (so every command works on the demo
afterwards), replays the invented posts through the same ``run`` as cron does, and
builds the site. It deletes only what it made itself: it marks its folder, and a folder
that holds a database or reports without the mark is someone's data.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DEMO_DIR = "monitor-demo"
DEMO_REGION = "kota-kupang"  # where the bundled invented posts are set
DEMO_MARKER = ".monitor-demo"
DEMO_MADE = (
    "monitor.toml",
    "monitor.db",
    "monitor.db-wal",
    "monitor.db-shm",
    "monitor.db.lock",
    "reports",
    "site",
)
DEMO_CONFIG_HEADER = """\
# Made by 'monitor demo': the shipped example config, plus one source that replays
# the bundled invented posts. Every command works on the demo with
#   monitor --config {path} COMMAND
# Running 'monitor demo' again deletes and remakes this file.
"""


class DemoFolderInUse(Exception):
    """The demo's folder holds files the demo did not make; it deletes none of them."""


@dataclass(frozen=True)
class DemoResult:
    """What one demo made, and where."""

    config_path: Path
    database: Path
    posts: int  # invented posts stored
    complaints: int  # of those, classified as complaints
    tied_to_agency: int  # of the complaints, tied to an agency
    digest: Path  # the digest's HTML
    site_pages: list[Path]  # the site's files, its index first

    @property
    def agency_pages(self) -> int:
        return sum(1 for page in self.site_pages if page.suffix == ".html") - 1


def clear_demo_folder(folder: Path) -> None:
    """Remove what an earlier demo made in ``folder``, and only that; then mark it.

    Without the marker it never deletes anything: a folder that already holds a
    database or reports is someone's data (an operator trying the demo in the
    production folder), and the demo refuses to start.
    """
    found = [name for name in DEMO_MADE if (folder / name).exists()]
    if found and not (folder / DEMO_MARKER).is_file():
        raise DemoFolderInUse(
            f"{folder} already holds {', '.join(found)}, not made by 'monitor demo'; the demo "
            "deletes nothing it did not make. Choose an empty folder: monitor demo --dir "
            "FOLDER"
        )
    for name in found:
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / DEMO_MARKER).write_text(
        "Made by 'monitor demo': the demo may delete what it made here: "
        + ", ".join(DEMO_MADE)
        + ".\n",
        encoding="utf-8",
    )


def demo_config_text(config_path: Path) -> str:
    """The shipped example config plus one source replaying the bundled invented posts."""
    from monitor.config import example_config_text

    return (
        DEMO_CONFIG_HEADER.format(path=config_path)
        + example_config_text()
        + '\n[[sources]]\nname = "demo"\ntype = "replay"    # the bundled invented posts\n'
        f'region = "{DEMO_REGION}"\nschedule = "every 60m"\n'
    )


def _quiet(_: str) -> None:
    pass


def run_demo(folder: Path, progress: Callable[[str], None] = _quiet) -> DemoResult:
    """Start the demo afresh in ``folder``: config, database, digest and site.

    Raises DemoFolderInUse when ``folder`` holds files an earlier demo did not make.
    """
    # Imported here, not at the top: the command line reads DEMO_DIR from this module
    # for its help text, and `monitor --help` must not load the classifier.
    from monitor.classify import model_version
    from monitor.config import load_config
    from monitor.pipeline import run
    from monitor.report.site import build_site
    from monitor.store import Store

    clear_demo_folder(folder)
    config_path = folder / "monitor.toml"
    config_path.write_text(demo_config_text(config_path), encoding="utf-8")
    config = load_config(config_path)
    report = run(config, command="demo", progress=progress)
    with Store.open(config.database) as store:
        complaints, tied = store.complaint_counts()
        pages = build_site(config, store, model_version(store=store), folder / "site")
    return DemoResult(
        config_path=config_path,
        database=config.database,
        posts=sum(source.new for source in report.sources),
        complaints=complaints,
        tied_to_agency=tied or 0,
        digest=Path(report.digest_paths[0]),
        site_pages=[Path(page) for page in pages],
    )
