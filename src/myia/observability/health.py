"""Health of the parts the app depends on: the database now; queue and workers join later.

A check is a named zero-argument coroutine returning at least `{"status": "up" | "down"}`;
each appears under its name at the top level of the report (`database`, later `queue`,
`workers`). Checks run concurrently, each with a timeout, and a failing check reports the
exception's type only: messages can carry connection URLs with passwords.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from myia.db.engine import Database
from myia.db.migrate import head_revision

HealthCheck = Callable[[], Awaitable[dict[str, Any]]]
CHECK_TIMEOUT_S = 5.0

# Process-wide checks (e.g. the queue registers itself when it starts).
_REGISTRY: dict[str, HealthCheck] = {}


def register_check(name: str, check: HealthCheck) -> None:
    if name in ("status", "database"):
        raise ValueError(f"'{name}' is reserved in the health report")
    _REGISTRY[name] = check


def unregister_check(name: str) -> None:
    _REGISTRY.pop(name, None)


@functools.cache
def _head() -> str:
    return head_revision()


async def database_health(database: Database) -> dict[str, Any]:
    """Up only when the database answers AND its schema is the one this code expects: an
    unmigrated or half-migrated database answers `SELECT 1` but fails every request."""
    started = time.perf_counter()
    down = {"status": "down", "dialect": database.dialect}
    try:
        async with database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            latency_ms = round((time.perf_counter() - started) * 1000, 2)
            try:
                revision = (
                    await connection.execute(text("SELECT version_num FROM alembic_version"))
                ).scalar()
            except DBAPIError:
                revision = None
    except Exception as exc:
        return {**down, "error": type(exc).__name__}
    if revision != _head():
        found = revision or "none"
        return {**down, "error": f"schema at {found}, expected {_head()}: run `myia db migrate`"}
    return {"status": "up", "dialect": database.dialect, "latency_ms": latency_ms}


async def _run_check(check: HealthCheck, timeout_s: float) -> dict[str, Any]:
    try:
        return await asyncio.wait_for(check(), timeout=timeout_s)
    except TimeoutError:
        return {"status": "down", "error": f"no answer within {timeout_s:g}s"}
    except Exception as exc:
        return {"status": "down", "error": type(exc).__name__}


async def health_report(
    database: Database,
    checks: Mapping[str, HealthCheck] | None = None,
    *,
    timeout_s: float = CHECK_TIMEOUT_S,
) -> dict[str, Any]:
    """`{"status": "healthy" | "unhealthy", "database": {...}, <name>: {...}, ...}`."""
    every: dict[str, HealthCheck] = {
        "database": lambda: database_health(database),
        **_REGISTRY,
        **(checks or {}),
    }
    results = await asyncio.gather(*(_run_check(c, timeout_s) for c in every.values()))
    report = dict(zip(every, results, strict=True))
    healthy = all(result.get("status") == "up" for result in results)
    return {"status": "healthy" if healthy else "unhealthy", **report}


def public_view(report: Mapping[str, Any]) -> dict[str, Any]:
    """What anyone may read of a report: up or down, nothing about what runs where."""
    return {"status": report["status"]}


def is_loopback_address(host: str | None) -> bool:
    """A caller on this machine: a loopback IP (the ASGI scope's client address, IPv4-mapped
    IPv6 included). Not a name, and not a unix socket's empty address: a proxy may sit there."""
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))
