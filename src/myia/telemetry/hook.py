"""Connect the providers' call hook to the call log: adapter calls become `CallRecord`s."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import cast

from myia.db.engine import Database
from myia.observability.context import request_id_var
from myia.providers.observed import CallEvent, set_call_observer
from myia.telemetry.calls import CALL_LOG, CallLogWriter, CallRecord, Operation
from myia.telemetry.cost import priced


def record_from_event(event: CallEvent) -> CallRecord:
    scope = event.scope
    cost = priced(event.tokens_in, event.tokens_out, scope.price_in_per_1m, scope.price_out_per_1m)
    # Only calls to a catalog deployment have a price to speak of (discovery has none).
    has_price_question = event.ok and scope.deployment_id is not None
    return CallRecord(
        operation=cast(Operation, event.operation),
        provider=event.provider,
        model=event.model,
        region=event.region,
        status="success" if event.ok else "error",
        deployment_id=scope.deployment_id,
        user_id=scope.user_id,
        message_id=scope.message_id,
        status_code=event.status_code,
        latency_ms=event.latency_ms,
        ttft_ms=event.ttft_ms,
        tokens_in=event.tokens_in,
        tokens_out=event.tokens_out,
        cost=cost.cost if event.ok else None,
        cost_note=cost.reason if has_price_question else None,
        error=event.error,
        error_category=event.error_category,
        request_id=scope.request_id or request_id_var.get(),
    )


def observe_provider_call(event: CallEvent, writer: CallLogWriter = CALL_LOG) -> None:
    writer.record(record_from_event(event))


def install() -> None:
    set_call_observer(observe_provider_call)


def uninstall() -> None:
    set_call_observer(None)


def start_call_logging(database: Database) -> bool:
    """Install the hook and start the writer; False (and nothing done) if already running."""
    if CALL_LOG.is_running:
        return False
    install()
    CALL_LOG.start(database)
    return True


async def stop_call_logging() -> None:
    """Remove the hook, then write what is left."""
    uninstall()
    await CALL_LOG.stop()


@contextlib.asynccontextmanager
async def call_logging(database: Database) -> AsyncIterator[CallLogWriter]:
    """Log every provider call of the block to `database` (app lifespan, worker, CLI).

    Nested use (a CLI command inside a running app) leaves the outer writer in charge."""
    if CALL_LOG.is_running:
        yield CALL_LOG
        return
    install()
    try:
        async with CALL_LOG.running(database) as writer:
            yield writer
    finally:
        uninstall()
