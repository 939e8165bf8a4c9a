"""Importing one export file (CSV or JSON lines) through a file_import source.

The file is read with the column mapping of a file_import source in the config and
stored like any collection, under the run lock and recorded in the runs table. A file
already imported, unchanged, with the same options is not read again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.config import Config, SourceConfig
    from monitor.records import SourceRun


class ImportSourceError(ValueError):
    """No file_import source fits: the one named has another type, or none was named
    and the config does not have exactly one."""


@dataclass(frozen=True)
class FileImport:
    """What importing one file did."""

    path: Path  # the file, resolved
    result: SourceRun | None  # None: imported before, unchanged; nothing was read

    @property
    def unchanged(self) -> bool:
        return self.result is None


def _quiet(_: str) -> None:
    pass


def import_source(config: Config, name: str | None = None) -> SourceConfig:
    """The file_import source named ``name``, or the only one the config has."""
    if name:
        source = config.source(name)
        if source.type != "file_import":
            raise ImportSourceError(
                f"source '{source.name}' is of type {source.type}, not file_import"
            )
        return source
    candidates = [s for s in config.sources if s.type == "file_import"]
    if len(candidates) == 1:
        return candidates[0]
    names = ", ".join(s.name for s in candidates) or "none configured"
    raise ImportSourceError(f"name the file_import source with --source (configured: {names})")


def import_file(
    config: Config,
    file: Path,
    source_name: str | None = None,
    progress: Callable[[str], None] = _quiet,
) -> FileImport:
    """Import ``file`` with the mapping of the file_import source ``source_name`` (or the
    config's only one). Re-importing a file adds nothing."""
    from monitor.collectors.file_import import already_imported
    from monitor.pipeline import collect_job
    from monitor.store import Store

    path = Path(file).resolve()
    source = replace(import_source(config, source_name), path=str(path))
    if config.database.exists():
        with Store.open(config.database) as store:
            if already_imported(path, source, store.get_cursor(source.name)):
                return FileImport(path, None)
    [result] = collect_job(config, [source], command="import", progress=progress)
    return FileImport(path, result)
