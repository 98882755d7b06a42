"""What the running app holds: settings, database, caches. Built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from myia.auth.throttle import LoginThrottle
from myia.catalog.cache import CatalogCache
from myia.config import Settings
from myia.db.engine import Database
from myia.queue.engine import QueueEngine


@dataclass
class AppState:
    settings: Settings
    database: Database
    catalog_cache: CatalogCache
    queue: QueueEngine
    login_throttle: LoginThrottle
