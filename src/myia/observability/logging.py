"""structlog configuration: JSON lines on stdout, secrets redacted, request id attached.

Our own events go to stdout and, when the app's lifespan enabled it, to the `logs` table.
Records of the standard library (uvicorn, SQLAlchemy, SAQ …) go through the same context and
redaction steps to stdout, but not to the table: SQLAlchemy's own log lines would otherwise
be written with SQLAlchemy, and so on.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from myia.observability.context import request_id_var, user_id_var
from myia.observability.db_sink import DB_SINK
from myia.observability.redaction import redact

EventDict = MutableMapping[str, Any]


def _add_context(_logger: Any, _method: str, event: EventDict) -> EventDict:
    request_id = request_id_var.get()
    if request_id and "request_id" not in event:
        event["request_id"] = request_id
    user_id = user_id_var.get()
    if user_id and "user_id" not in event:
        event["user_id"] = user_id
    return event


def _redact(_logger: Any, _method: str, event: EventDict) -> EventDict:
    return {k: redact(v, k) if k != "event" else redact(v) for k, v in event.items()}


def _to_db(_logger: Any, _method: str, event: EventDict) -> EventDict:
    DB_SINK.capture(dict(event))
    return event


def _stdlib_logger_name(_logger: Any, _method: str, event: EventDict) -> EventDict:
    record = event.get("_record")
    if record is not None:
        event["logger_name"] = record.name
    return event


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_context,
        structlog.processors.format_exc_info,
        _redact,
    ]


def _process_stdout() -> TextIO:
    """The process's own stdout (fd 1), not a stand-in put in `sys.stdout` later.

    CliRunner swaps `sys.stdout` to capture a command's output, which log lines must not
    pollute (`--json` output), and a test runner's stand-in may be closed by the time a
    background task logs.
    """
    return sys.__stdout__ or sys.stdout


def _stdout_handler(renderer: Any) -> logging.Handler:
    handler = logging.StreamHandler(_process_stdout())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[_stdlib_logger_name, *_shared_processors()],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    return handler


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    """Route structlog through the standard library so both share one handler on stdout."""
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    logging.basicConfig(handlers=[_stdout_handler(renderer)], level=level.upper(), force=True)
    # The request middleware already logs every request, without the query string that
    # uvicorn's access log prints verbatim (and that may carry a key).
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every outbound URL at INFO, query string included (some APIs take `?key=`);
    # the provider adapters log their own calls, redacted.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            *_shared_processors(),
            _to_db,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    # Bound lazily, so a module-level logger still follows a later configure_logging().
    return structlog.get_logger(name, logger_name=name)
