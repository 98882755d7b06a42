"""The `logs` sink on its own: mapping events to rows, and what a failed write does."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from myia.db.engine import Database
from myia.observability.db_sink import DbLogSink


def test_an_event_becomes_a_row() -> None:
    record = DbLogSink._record(
        {
            "event": "called",
            "level": "warning",
            "timestamp": "2026-01-02T03:04:05.000006Z",
            "request_id": "r" * 100,
            "user_id": "u-1",
            "exception": "Traceback …",
            "nested": {"a": [1, object()]},
            "n": 3,
        }
    )
    assert record.message == "called" and record.level == "warning"
    assert record.timestamp == datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert record.request_id == "r" * 64  # clipped to the column
    assert record.error == {"exception": "Traceback …"}
    assert record.metadata_ is not None and record.metadata_["n"] == 3
    assert isinstance(record.metadata_["nested"]["a"][1], str)


def test_capture_only_when_enabled() -> None:
    sink = DbLogSink()
    sink.capture({"event": "ignored"})
    sink.enable()
    sink.capture({"event": "kept"})
    assert sink.enabled and len(sink._buffer) == 1
    sink.disable()
    assert not sink.enabled and len(sink._buffer) == 0


async def test_a_failed_write_is_counted_and_dropped(tmp_path: object) -> None:
    sink = DbLogSink()
    sink.enable()
    sink.capture({"event": "lost"})
    database = Database("sqlite+aiosqlite:///:memory:")  # no `logs` table here
    try:
        with pytest.raises(Exception):  # noqa: B017 - whichever driver error it is
            await sink.flush(database)
    finally:
        await database.dispose()
    assert sink.dropped == 1 and len(sink._buffer) == 0
