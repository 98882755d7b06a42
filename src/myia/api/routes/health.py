"""`GET /api/health`: up or down for anyone; what is up, and how, for admins and loopback.

A load balancer or an uptime probe needs the status (and the 200/503) only. The details —
database dialect and latency, schema revision, queue engine and depth, worker ids, hosts and
heartbeats — map the deployment for an attacker, so an anonymous caller from the network gets
`{"status": ...}` alone (`observability.health.public_view`). The full report goes to an
admin's bearer token and to a caller on a loopback address (`myia serve`'s own host: the
operator's `curl`, `myia validate`, a local monitoring agent). Behind a reverse proxy on
the same host, the proxy must send `X-Forwarded-For` (uvicorn trusts it from 127.0.0.1), or
every caller would look local.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from myia.api.deps import StateDep
from myia.api.state import AppState
from myia.auth.principal import authenticate_token
from myia.errors import AuthenticationError
from myia.observability.health import health_report, is_loopback_address, public_view
from myia.queue.heartbeat import stale_after_s, workers

router = APIRouter(prefix="/api", tags=["health"])


async def _sees_details(request: Request, state: AppState) -> bool:
    if request.client is not None and is_loopback_address(request.client.host):
        return True
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    try:
        user = await authenticate_token(
            token.strip(),
            secret=state.settings.jwt_secret,
            cache=state.catalog_cache,
            database=state.database,
        )
    except AuthenticationError:
        return False  # a probe with a stale token still learns up or down, nothing more
    return user.is_admin


@router.get(
    "/health",
    summary="Health of the app and what it depends on",
    description="`status` (`healthy` → 200, `unhealthy` → 503) for anyone; each check's "
    "details only with an admin's bearer token or from a loopback address.",
)
async def health(request: Request, state: StateDep) -> Any:
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
    status_code = 200 if report["status"] == "healthy" else 503
    if not await _sees_details(request, state):
        report = public_view(report)
    return JSONResponse(report, status_code=status_code)
