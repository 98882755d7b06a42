"""Routing attempts (`myia.routing.Attempt`) as call-log records, for the chat and gateway.

Each attempt of a fallback chain is its own row: the failed ones carry their error and
`fallback` (another route was tried after them), the one that answered carries the
provider's token counts and the cost from that route's prices per 1M tokens.
"""

from __future__ import annotations

from collections.abc import Callable

from myia.observability.context import request_id_var
from myia.routing import Attempt, AttemptRecorder
from myia.telemetry.calls import CALL_LOG, CallLogWriter, CallRecord, Operation
from myia.telemetry.cost import priced


def record_for_attempt(
    attempt: Attempt,
    *,
    operation: Operation,
    user_id: str | None,
    message_id: str | None = None,
    request_id: str | None = None,
    end_user: str | None = None,
) -> CallRecord:
    route = attempt.route
    cost = priced(attempt.tokens_in, attempt.tokens_out, route.price_in, route.price_out)
    error = attempt.error
    return CallRecord(
        operation=operation,
        provider=route.provider.slug,
        model=route.deployment,
        region=route.region,
        status="success" if attempt.ok else "error",
        deployment_id=route.deployment_row_id,
        user_id=user_id,
        message_id=message_id,
        status_code=error.status_code if error else None,
        latency_ms=attempt.latency_ms,
        ttft_ms=attempt.time_to_first_token_ms,
        tokens_in=attempt.tokens_in,
        tokens_out=attempt.tokens_out,
        cost=cost.cost if attempt.ok else None,
        cost_note=cost.reason if attempt.ok else None,
        error=error.message if error else None,
        error_category=error.category.value if error else None,
        request_id=request_id or request_id_var.get(),
        end_user=end_user,
        fallback=attempt.fell_back,
    )


def attempt_recorder(
    *,
    operation: Operation,
    user_id: str | None,
    message_id: str | None = None,
    request_id: str | None = None,
    end_user: str | None = None,
    writer: CallLogWriter = CALL_LOG,
    also: Callable[[Attempt], None] | None = None,
) -> AttemptRecorder:
    """An `AttemptRecorder` that queues every attempt on the call log (and calls `also`)."""

    def record(attempt: Attempt) -> None:
        writer.record(
            record_for_attempt(
                attempt,
                operation=operation,
                user_id=user_id,
                message_id=message_id,
                request_id=request_id,
                end_user=end_user,
            )
        )
        if also is not None:
            also(attempt)

    return record
