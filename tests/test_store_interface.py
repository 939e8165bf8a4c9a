"""All SQL lives in the monitor/store/ package: no other module reaches into the database.

Keeps the storage behind ``Store`` narrow enough that another backend could be
added without touching collectors, reports or operations.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "monitor"
STORE = PACKAGE / "store"

# Methods that only a database connection (sqlite3 / sqlite-utils) has.
SQL_METHODS = frozenset(
    {
        "execute",
        "executemany",
        "executescript",
        "execute_returning_dicts",
        "atomic",
    }
)


def direct_database_use(source: str) -> list[str]:
    """Every place in ``source`` that runs SQL or touches the connection, as 'line: what'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            func = node.func
            if func.attr in SQL_METHODS:
                found.append(f"{node.lineno}: .{func.attr}()")
            elif func.attr == "connect" and _name(func.value) == "sqlite3":
                found.append(f"{node.lineno}: sqlite3.connect()")
        elif isinstance(node, ast.Call) and _name(node.func) == "Database":
            found.append(f"{node.lineno}: Database()")
        # Anything reached through a Store's database: store.db.conn, store.db["posts"] ...
        # (a bare ``args.db`` - the --db option - is a path, not the database).
        if isinstance(node, ast.Attribute | ast.Subscript) and _is_db_attribute(node.value):
            found.append(f"{node.lineno}: .db{'[...]' if isinstance(node, ast.Subscript) else ''}")
        if isinstance(node, ast.Attribute) and node.attr == "conn":
            found.append(f"{node.lineno}: .conn")
        if isinstance(node, ast.ImportFrom | ast.Import):
            modules = [node.module] if isinstance(node, ast.ImportFrom) else []
            modules += [alias.name for alias in getattr(node, "names", [])]
            if "sqlite_utils" in modules:
                found.append(f"{node.lineno}: import sqlite_utils")
    return sorted(set(found), key=lambda text: (int(text.split(":")[0]), text))


def _name(node: ast.AST) -> str | None:
    return node.id if isinstance(node, ast.Name) else None


def _is_db_attribute(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "db"


def package_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def store_modules() -> list[Path]:
    return sorted(STORE.glob("*.py"))


def test_no_module_but_the_store_runs_sql():
    modules = package_modules()
    assert STORE / "__init__.py" in modules and len(modules) > 10
    assert not (PACKAGE / "store.py").exists()  # the package, not a module beside it
    offenders = {
        str(path.relative_to(PACKAGE.parent)): uses
        for path in modules
        if STORE not in path.parents
        and (uses := direct_database_use(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}, "SQL outside monitor/store/; add a Store method instead"


def test_the_scan_finds_the_stores_own_sql():
    """The scan is not vacuous: it does see every kind of use in the store itself."""
    uses = " ".join(
        use for path in store_modules() for use in direct_database_use(path.read_text("utf-8"))
    )
    for kind in (
        ".execute()",
        ".executemany()",
        ".execute_returning_dicts()",
        ".atomic()",
        ".conn",
        ".db",
        "sqlite3.connect()",
        "Database()",
        "import sqlite_utils",
    ):
        assert kind in uses


@pytest.mark.parametrize(
    "snippet",
    [
        "store.db.execute('SELECT 1')",
        "rows = store.db.execute_returning_dicts('SELECT 1')",
        "store.db.conn.execute('VACUUM')",
        "conn.execute('PRAGMA integrity_check')",
        "store.db['posts'].insert({})",
        "store.db.table('posts').count",
        "with store.db.atomic():\n    pass",
        "cursor.executemany('INSERT', rows)",
        "src = sqlite3.connect('x.db')",
        "from sqlite_utils import Database",
        "import sqlite_utils",
    ],
)
def test_the_scan_sees_each_way_of_running_sql(snippet):
    assert direct_database_use(snippet)


@pytest.mark.parametrize(
    "snippet",
    [
        "config.database = Path(args.db)",
        "if args.db:\n    pass",
        "store.count_posts()",
        "with Store.open(path) as store:\n    store.integrity_check()",
        "except sqlite3.OperationalError:\n    pass",
        '"""A docstring that says PRAGMA integrity_check and store.db.execute"""',
    ],
)
def test_the_scan_leaves_store_calls_and_paths_alone(snippet):
    if snippet.startswith("except"):
        snippet = "try:\n    pass\n" + snippet
    assert direct_database_use(snippet) == []
