"""The distributed engine's two backends: every test asking for `queue_url` runs on SAQ's
Redis queue and on its PostgreSQL queue, each test on a queue of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.queue.saq_support import purge_queue, unique_queue_name


@pytest.fixture
def queue_name() -> str:
    return unique_queue_name()


@pytest.fixture(params=["redis", "postgres-queue"])
def queue_url(request: pytest.FixtureRequest, queue_name: str) -> Iterator[str]:
    """QUEUE_URL for one test: Redis (its keys purged after), or an empty PostgreSQL database
    of its own, where SAQ creates its tables on connect (dropped after)."""
    if request.param == "redis":
        redis_url: str = request.getfixturevalue("redis_url")
        yield redis_url
        purge_queue(redis_url, queue_name)
        return
    yield request.getfixturevalue("queue_db")  # tests/sim_support.py
