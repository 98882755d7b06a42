"""Seed 004's recommended alerts, evaluated from the database and Redis.

| alert | fires when |
| --- | --- |
| worker_offline | a worker's heartbeat is older than 5 min, or items wait and no worker is alive |
| failure_rate | more than 10 % of the queue items finished in the last 24 h failed |
| queue_backlog | more than 100 items wait to run |
| redis_down | REDIS_URL or a redis:// QUEUE_URL is set and Redis does not answer PING |

The same evaluation feeds `myia health --alerts` (exit 1 when one fires), the
`myia_alert_firing` / `myia_alert_value` Prometheus gauges, and one WARNING log record per
firing alert (AlertWatch does both inside `myia serve`, every minute).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Gauge
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.config import Settings
from myia.db.engine import Database
from myia.db.models import WorkerHeartbeat
from myia.db.types import utcnow
from myia.queue.stats import item_counts, last_24h

logger = logging.getLogger("myia.alerts")

WORKER_OFFLINE_AFTER_S = 300.0
FAILURE_RATE_MAX = 0.10
WAITING_MAX = 100
REDIS_TIMEOUT_S = 2.0
WATCH_INTERVAL_S = 60.0

ALERT_NAMES = ("worker_offline", "failure_rate", "queue_backlog", "redis_down")

FIRING = Gauge("myia_alert_firing", "1 while the named alert fires (seed 004), else 0.", ["alert"])
VALUE = Gauge("myia_alert_value", "The figure each alert compares with its threshold.", ["alert"])


@dataclass(frozen=True)
class Alert:
    name: str
    firing: bool
    value: float | None
    threshold: float | None
    message: str
    action: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


async def _worker_alert(session: AsyncSession, waiting: int, now: datetime) -> Alert:
    cutoff = now - timedelta(seconds=WORKER_OFFLINE_AFTER_S)
    rows = (await session.scalars(select(WorkerHeartbeat))).all()
    offline = [r.id for r in rows if r.last_seen_at < cutoff]
    alive = len(rows) - len(offline)
    if offline:
        message = f"{len(offline)} worker(s) silent for over 5 min: {', '.join(offline)}"
    elif waiting and not alive:
        message = f"{waiting} item(s) wait and no worker is alive"
    else:
        message = f"{alive} worker(s) alive"
    firing = bool(offline) or (waiting > 0 and alive == 0)
    return Alert(
        "worker_offline",
        firing,
        float(len(offline)),
        0.0,
        message,
        "restart the worker (`myia worker`, or `myia serve` for the embedded ones)",
    )


def _failure_alert(figures: dict[str, Any]) -> Alert:
    items = int(figures.get("items") or 0)
    rate = figures.get("success_rate")
    failure = round(1.0 - rate, 4) if rate is not None else 0.0
    return Alert(
        "failure_rate",
        items > 0 and failure > FAILURE_RATE_MAX,
        failure,
        FAILURE_RATE_MAX,
        f"{failure:.0%} of {items} item(s) failed in the last 24 h",
        "read the failures (`myia jobs stats`, `myia certifications check`): credentials, "
        "quotas, connectivity",
    )


def _backlog_alert(waiting: int) -> Alert:
    return Alert(
        "queue_backlog",
        waiting > WAITING_MAX,
        float(waiting),
        float(WAITING_MAX),
        f"{waiting} item(s) waiting",
        "check the workers are running; add workers or raise QUEUE_CONCURRENCY",
    )


def redis_urls(settings: Settings) -> list[str]:
    urls = [settings.redis_url, settings.queue_url]
    return sorted({u for u in urls if u and u.startswith(("redis://", "rediss://"))})


async def ping_redis(url: str) -> str | None:
    """None when Redis answers; otherwise the error's type (never the URL: it may hold a
    password)."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT_S, socket_timeout=REDIS_TIMEOUT_S
    )
    try:
        await asyncio.wait_for(client.ping(), timeout=REDIS_TIMEOUT_S * 2)
        return None
    except Exception as exc:
        return type(exc).__name__
    finally:
        await client.aclose()


async def _redis_alert(settings: Settings) -> Alert:
    urls = redis_urls(settings)
    errors = [e for e in await asyncio.gather(*(ping_redis(u) for u in urls)) if e]
    if not urls:
        message = "Redis is not used (no REDIS_URL, QUEUE_URL not redis://)"
    elif errors:
        message = f"Redis does not answer PING ({', '.join(errors)})"
    else:
        message = "Redis answers PING"
    return Alert(
        "redis_down",
        bool(errors),
        float(len(errors)),
        0.0,
        message,
        "start Redis (`systemctl start redis-server`) and check REDIS_URL / QUEUE_URL",
    )


async def evaluate_alerts(
    *, database: Database, settings: Settings, now: datetime | None = None
) -> list[Alert]:
    now = now or utcnow()
    async with database.session() as session:
        counts = await item_counts(session)
        figures = await last_24h(session)
        worker = await _worker_alert(session, counts["waiting"], now)
    return [
        worker,
        _failure_alert(figures),
        _backlog_alert(counts["waiting"]),
        await _redis_alert(settings),
    ]


def publish(alerts: list[Alert]) -> None:
    """Set the Prometheus gauges and log one WARNING per firing alert."""
    for alert in alerts:
        FIRING.labels(alert.name).set(1 if alert.firing else 0)
        VALUE.labels(alert.name).set(alert.value if alert.value is not None else float("nan"))
        if alert.firing:
            logger.warning(
                "alert %s: %s",
                alert.name,
                alert.message,
                extra={"alert": alert.name, "value": alert.value, "threshold": alert.threshold},
            )


class AlertWatch:
    """Evaluates and publishes the alerts every `interval_s` from a daemon thread of
    `myia serve`, with its own loop and connections."""

    def __init__(self, settings: Settings, interval_s: float = WATCH_INTERVAL_S) -> None:
        self._settings = settings
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="myia-alerts", daemon=True)
        self.rounds = 0

    def start(self) -> AlertWatch:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            try:
                publish(asyncio.run(self._once()))
            except Exception:  # the next round tries again; the server goes on
                logger.exception("alert evaluation failed")
            self.rounds += 1
            if self._stop.wait(self._interval_s):
                return

    async def _once(self) -> list[Alert]:
        database = Database(self._settings.database_url)
        try:
            return await evaluate_alerts(database=database, settings=self._settings)
        finally:
            await database.dispose()
