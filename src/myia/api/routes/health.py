from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from myia.api.deps import StateDep
from myia.observability.health import health_report
from myia.queue.heartbeat import stale_after_s, workers

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", summary="Health of the app and what it depends on")
async def health(state: StateDep) -> Any:
    async def workers_check() -> dict[str, Any]:
        async with state.database.session() as session:
            found = await workers(session, stale_after_s=stale_after_s(state.settings))
        # Workers are optional (a web-only process with a distributed queue has none here),
        # so their absence is reported, not counted as down.
        return {"status": "up", "alive": sum(w["alive"] for w in found), "workers": found}

    checks = {"queue": state.queue.health, "workers": workers_check}
    if state.catalog_cache.bus is not None:  # REDIS_URL: cross-process cache invalidation
        checks["redis"] = state.catalog_cache.bus.health
    report = await health_report(state.database, checks)
    return JSONResponse(report, status_code=200 if report["status"] == "healthy" else 503)
