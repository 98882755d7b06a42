"""Worker heartbeats: each worker (embedded or SAQ) says it is alive every few seconds."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.config import Settings
from myia.db.engine import Database
from myia.db.models import WorkerHeartbeat
from myia.db.types import utcnow


def stale_after_s(settings: Settings) -> float:
    """A worker that has not beaten for three heartbeats is taken for dead."""
    return settings.worker_heartbeat_s * 3


def new_worker_id(engine: str) -> str:
    return f"{engine}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


async def beat(
    database: Database, worker_id: str, *, engine: str, active: int = 0, processed: int = 0
) -> None:
    now = utcnow()
    async with database.session() as session:
        row = await session.get(WorkerHeartbeat, worker_id)
        if row is None:
            row = WorkerHeartbeat(
                id=worker_id,
                hostname=socket.gethostname(),
                pid=os.getpid(),
                engine=engine,
                started_at=now,
                last_seen_at=now,
            )
            session.add(row)
        row.last_seen_at = now
        row.active_items = active
        row.processed_items = processed
        await session.commit()


async def remove(database: Database, worker_id: str) -> None:
    async with database.session() as session:
        row = await session.get(WorkerHeartbeat, worker_id)
        if row is not None:
            await session.delete(row)
            await session.commit()


async def workers(session: AsyncSession, *, stale_after_s: float) -> list[dict[str, Any]]:
    """Every known worker with whether its heartbeat is recent."""
    cutoff = utcnow() - timedelta(seconds=stale_after_s)
    rows = (await session.execute(select(WorkerHeartbeat).order_by(WorkerHeartbeat.id))).scalars()
    return [
        {
            "id": r.id,
            "engine": r.engine,
            "hostname": r.hostname,
            "pid": r.pid,
            "alive": r.last_seen_at >= cutoff,
            "last_seen_at": r.last_seen_at.isoformat(),
            "active_items": r.active_items,
            "processed_items": r.processed_items,
        }
        for r in rows
    ]
