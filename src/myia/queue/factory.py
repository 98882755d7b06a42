"""Pick the queue engine and the rate limiters from the settings."""

from __future__ import annotations

from myia.catalog.cache import CatalogCache
from myia.config import Settings
from myia.db.engine import Database
from myia.queue.engine import QueueEngine
from myia.queue.ratelimit import LimiterConfig, LocalLimiterPool, parse_overrides


def limiter_config(settings: Settings) -> LimiterConfig:
    return LimiterConfig(
        initial_rps=settings.rate_limit_rps,
        overrides=parse_overrides(settings.rate_limit_overrides),
    )


def build_engine(
    database: Database, settings: Settings, *, catalog_cache: CatalogCache | None = None
) -> QueueEngine:
    """Embedded unless QUEUE_URL names a distributed queue. `catalog_cache`: the cache an
    embedded engine drops after each certification it records."""
    if settings.queue_url:
        from myia.queue.saq_engine import SaqEngine, make_queue

        make_queue(settings)  # refuse a bad QUEUE_URL at start-up, not at the first job
        return SaqEngine(database, settings)
    from myia.queue.embedded import EmbeddedEngine

    return EmbeddedEngine(
        database,
        settings,
        LocalLimiterPool(limiter_config(settings)),
        catalog_cache=catalog_cache,
    )
