"""Counting the SQL a piece of code sends: for tests that hold a read to a fixed number of
statements, or to none when a cache should answer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from myia.db.engine import Database


@contextmanager
def count_statements(database: Database) -> Iterator[list[str]]:
    """The statements sent to `database` inside the block, in order."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)
