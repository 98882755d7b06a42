"""Which errors are the platform's, not the model's: the database, Redis (queue, shared rate
limiter), the queue's own PostgreSQL pool, a connection refused or reset.

A work item that hits one is given back without charging an attempt and never becomes a
certification verdict: with `QUEUE_MAX_RETRIES=0`, a six-second Redis outage would otherwise
have recorded every model in flight as FAILED.
"""

from __future__ import annotations

import asyncpg
import psycopg
from psycopg_pool import PoolTimeout
from redis.exceptions import RedisError
from sqlalchemy import exc as sa_exc

from myia.providers.errors import ProviderError

_INFRASTRUCTURE: tuple[type[BaseException], ...] = (
    RedisError,
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,  # no connection from SQLAlchemy's pool in time
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    PoolTimeout,
    ConnectionError,  # refused, reset, broken pipe on a socket of ours
)


def is_infrastructure_error(exc: BaseException) -> bool:
    """True if `exc`, or anything it was raised from, is an outage of a part of ours.

    A `ProviderError` on the way stops the search: the provider's answer is the verdict, even
    if a socket error caused it.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ProviderError):
            return False
        if isinstance(current, _INFRASTRUCTURE):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        current = current.__cause__ or current.__context__
    return False
