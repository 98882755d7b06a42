"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from myia import __version__
from myia.api.body_limit import BodyLimitMiddleware
from myia.api.errors import install_error_handlers
from myia.api.gateway_cors import GatewayCorsMiddleware, parse_origins
from myia.api.middleware import RequestContextMiddleware
from myia.api.openapi import install_openapi
from myia.api.response_cache import CatalogResponseCache
from myia.api.routes import ROUTERS
from myia.api.routes.admin_queues import MOUNT as QUEUE_UI_MOUNT
from myia.api.routes.gateway import GatewayFastPath
from myia.api.state import AppState
from myia.auth.throttle import LoginThrottle
from myia.catalog.cache import build_catalog_cache
from myia.config import Settings, get_settings
from myia.db.engine import Database
from myia.metrics.rollup import start_rollups, stop_rollups
from myia.observability.db_sink import DB_SINK
from myia.observability.logging import configure_logging
from myia.queue.factory import build_engine
from myia.telemetry.hook import start_call_logging, stop_call_logging
from myia.web.security_headers import (
    SecurityHeadersMiddleware,
    third_party_csp,
    third_party_pages,
)

DESCRIPTION = """
MyIA keeps a model catalog in the database (base model → deployment on a provider, with its
price per million tokens → certification per region) and serves it over this API.

Authenticate with `POST /api/auth/login`, then send `Authorization: Bearer <token>`.
Catalog reads need a logged-in user; catalog writes need the **admin** role.
"""


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.check_secrets()
    # A database the app makes is the app's to close: its lifespan disposes it (a caller's
    # is the caller's). Left open, its pooled connections outlive the event loop that
    # served them (a server run in a thread): aiosqlite's then fail "Event loop is closed".
    owns_database = database is None
    database = database or Database(settings.database_url)
    catalog_cache = build_catalog_cache(
        ttl_s=settings.catalog_cache_ttl_s, redis_url=settings.redis_url
    )
    state = AppState(
        settings=settings,
        database=database,
        catalog_cache=catalog_cache,
        queue=build_engine(database, settings, catalog_cache=catalog_cache),
        login_throttle=LoginThrottle.from_settings(settings),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await state.catalog_cache.start()
        owns_call_log = start_call_logging(database)  # provider calls into api_call_logs
        if settings.queue_workers_enabled:
            await state.queue.start()
        sink_task = None
        if settings.log_to_db:
            DB_SINK.enable()
            sink_task = asyncio.create_task(DB_SINK.run(database))
        rollups = start_rollups(database)  # system_metrics, every METRICS_ROLLUP_INTERVAL_S
        try:
            yield
        finally:
            await stop_rollups(rollups)
            if sink_task is not None:
                sink_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sink_task
                DB_SINK.disable()
            if settings.queue_workers_enabled:
                await state.queue.stop()
            if owns_call_log:
                await stop_call_logging()
            await state.catalog_cache.stop()
            await state.login_throttle.close()
            if owns_database:
                await database.dispose()

    configure_logging(settings.log_level)
    app = FastAPI(title="MyIA", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.myia = state
    # Innermost of ours: /v1/* skips FastAPI's router layers (src/myia/api/routes/gateway.py),
    # and the catalog's list reads are answered from their cached bytes when they can be.
    app.add_middleware(GatewayFastPath)
    app.add_middleware(CatalogResponseCache)
    app.add_middleware(RequestContextMiddleware)
    # An oversized body is refused before anything reads it; /v1 has its own, larger limit.
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_request_body_bytes,
        gateway_max_bytes=settings.gateway_max_body_bytes,
    )
    # Browser clients of /v1, only when origins are listed (off: not even in the stack).
    cors_origins = parse_origins(settings.gateway_cors_origins)
    if cors_origins:
        app.add_middleware(GatewayCorsMiddleware, origins=cors_origins)
    # Added last, so outermost: every answer, fast paths and refusals included, carries the
    # browser-hardening headers (CSP, frame, sniffing, referrer, no-store): docs/web.md.
    app.add_middleware(
        SecurityHeadersMiddleware,
        third_party_policy=third_party_csp(third_party_pages(app, QUEUE_UI_MOUNT)),
    )
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    from myia.web import mount_web

    mount_web(app)  # the web UI (pages, static files): docs/web.md
    if settings.queue_url:
        from myia.api.routes.admin_queues import mount_queue_ui

        mount_queue_ui(app, state)  # SAQ's dashboard, admins only
    install_openapi(app)
    return app
