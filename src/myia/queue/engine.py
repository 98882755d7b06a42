"""What every queue engine offers. The database holds the truth; an engine only carries work."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


class QueueEngine(ABC):
    name: str

    @abstractmethod
    async def start(self) -> None:
        """Connect (and, for engines that run work in this process, start the workers)."""

    @abstractmethod
    async def stop(self) -> None: ...

    @abstractmethod
    async def enqueue(self, item_ids: list[str]) -> None:
        """Make these items' work reach a worker."""

    @abstractmethod
    async def sync(self, session: AsyncSession) -> dict[str, int]:
        """Reconcile with the database: re-enqueue what the queue lost, drop what the database
        finished. Returns counts (`requeued`, `dropped`, `recovered`)."""

    @abstractmethod
    async def queue_info(self) -> dict[str, Any]:
        """The engine's own view (queued/active messages), for stats and health."""

    async def health(self) -> dict[str, Any]:
        try:
            info = await self.queue_info()
        except Exception as exc:
            return {"status": "down", "engine": self.name, "error": type(exc).__name__}
        return {"status": "up", "engine": self.name, **info}
