"""Routing: which deployment answers a request for a model, and the call with fallback.

Published interface (used by the gateway and by chats):

- `Needs(tools, vision, streaming)` — what the request needs its route's certification to
  have passed.
- `Route` — one candidate: `deployment` (the provider's model id), `deployment_row_id`,
  `provider` (a `ProviderRef`), `region`, `price_in` / `price_out` (USD per 1M tokens,
  `None` when unknown: never "free"), `certification` (a `CertificationView` or None) and
  `certified` (False only when the operator allowed uncertified routes).
- `await resolve_routes(cache=..., database=..., model=..., needs=..., preferred_region=...,
  allow_uncertified=...)` — the candidates, best first: the preferred region first, then
  cheapest for the request, unpriced last. Reads a route table cached in the `CatalogCache`
  (no database round trip on a hit; catalog writes and `invalidate_routes` drop it in every
  process through the cache's Redis bus).
- `AdapterPool` — one adapter (and so one pooled HTTP client) per provider connection,
  reused across requests.
- `await call_with_fallback(...)` / `await open_stream_with_fallback(...)` — the upstream
  call; a failure before the first byte that another route may not share moves on to the next
  candidate, and every attempt is reported to an `AttemptRecorder`; a `max_tokens` no route
  can give raises `MaxTokensTooLarge` first (`output_limit.py`).
"""

from myia.routing.fallback import (
    Attempt,
    AttemptRecorder,
    NoRouteAnswered,
    OpenedStream,
    call_with_fallback,
    open_stream_with_fallback,
)
from myia.routing.output_limit import MaxTokensTooLarge, fitting_routes
from myia.routing.pool import AdapterPool
from myia.routing.resolve import (
    ROUTE_TABLE_KEY,
    RouteTable,
    invalidate_routes,
    load_route_table,
    model_slug,
    resolve_routes,
    route_table,
)
from myia.routing.types import CertificationView, Needs, ProviderRef, Route

__all__ = [
    "ROUTE_TABLE_KEY",
    "AdapterPool",
    "Attempt",
    "AttemptRecorder",
    "CertificationView",
    "MaxTokensTooLarge",
    "Needs",
    "NoRouteAnswered",
    "OpenedStream",
    "ProviderRef",
    "Route",
    "RouteTable",
    "call_with_fallback",
    "fitting_routes",
    "invalidate_routes",
    "load_route_table",
    "model_slug",
    "open_stream_with_fallback",
    "resolve_routes",
    "route_table",
]
