"""Which adapter serves a connection: by slug when one is registered, else by auth type.

Built-in providers register through the same `register(registry)` hook an outside package
exposes in the `myia.providers` entry-point group, so a plugin can add a protocol or override
a slug without touching MyIA. Plugins load lazily, on the first lookup.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable
from importlib.metadata import EntryPoint, entry_points

from myia.db.enums import AuthType
from myia.observability.logging import get_logger
from myia.providers.adapter import ProviderAdapter
from myia.providers.connection import ProviderConnection
from myia.providers.errors import ErrorCategory, ProviderError
from myia.providers.observed import observed

ENTRY_POINT_GROUP = "myia.providers"
BUILTIN_PLUGINS = ("myia.providers.bedrock", "myia.providers.openai_compat")

AdapterFactory = Callable[[ProviderConnection], ProviderAdapter]

log = get_logger(__name__)


class ProviderRegistry:
    def __init__(self) -> None:
        self._by_auth_type: dict[AuthType, AdapterFactory] = {}
        self._by_slug: dict[str, AdapterFactory] = {}
        self._loaded = False
        self._lock = threading.Lock()

    def register(
        self,
        factory: AdapterFactory,
        *,
        auth_type: AuthType | None = None,
        slug: str | None = None,
    ) -> None:
        """Serve every connection of `auth_type`, or only the provider named `slug`."""
        if (auth_type is None) == (slug is None):
            raise ValueError("register a factory for exactly one of auth_type or slug")
        if slug is not None:
            self._by_slug[slug] = factory
        elif auth_type is not None:
            self._by_auth_type[auth_type] = factory

    def load_plugins(self, plugins: Iterable[EntryPoint] | None = None) -> None:
        """Register the built-ins, then every `myia.providers` entry point (once)."""
        with self._lock:
            if self._loaded and plugins is None:
                return
            if not self._loaded:
                for module_name in BUILTIN_PLUGINS:
                    importlib.import_module(module_name).register(self)
                self._loaded = True
            found = entry_points(group=ENTRY_POINT_GROUP) if plugins is None else plugins
            for entry_point in found:
                self._load_entry_point(entry_point)

    def _load_entry_point(self, entry_point: EntryPoint) -> None:
        # A broken plugin must not take the built-in providers down with it.
        try:
            hook = entry_point.load()
            hook(self)
        except Exception as exc:
            log.error("provider_plugin_failed", plugin=entry_point.name, error=str(exc))

    def factory_for(self, connection: ProviderConnection) -> AdapterFactory:
        self.load_plugins()
        factory = self._by_slug.get(connection.slug) or self._by_auth_type.get(connection.auth_type)
        if factory is None:
            raise ProviderError(
                ErrorCategory.VALIDATION,
                f"no adapter for provider {connection.slug!r} ({connection.auth_type.value})",
                provider=connection.slug,
            )
        return factory

    def get_adapter(self, connection: ProviderConnection) -> ProviderAdapter:
        return self.factory_for(connection)(connection)


registry = ProviderRegistry()


def get_adapter(connection: ProviderConnection) -> ProviderAdapter:
    # Wrapped so that every call is reported to the telemetry observer, when one is installed.
    return observed(registry.get_adapter(connection))


def register(
    factory: AdapterFactory, *, auth_type: AuthType | None = None, slug: str | None = None
) -> None:
    registry.register(factory, auth_type=auth_type, slug=slug)
