from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.maintenance.databases import empty_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(
    request: pytest.FixtureRequest, tmp_path: Path, pg_available: bool
) -> Iterator[str]:
    """A database without a single table, on each backend in turn."""
    with empty_database(request.param, tmp_path, pg_available) as url:
        yield url
