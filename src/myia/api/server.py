"""How `myia serve` runs uvicorn: the HTTP protocol and the heap, tuned for the gateway.

- `BatchedWritesProtocol`: uvicorn's httptools protocol, with the writes one event-loop turn
  makes on a connection sent as one. uvicorn writes a response's status line and headers,
  then each body message, each straight to the socket: two `send` calls for a JSON answer,
  ten for a streamed completion of eight SSE frames that arrived together. On loopback or
  a LAN each `send` costs the sender the receiver's TCP processing too: profiled under
  load, socket writes were ~30 % of the gateway's CPU per request. Here a write is queued
  and the queue goes out, joined, at the end of the current loop turn (`call_soon`): the
  bytes and their order are unchanged, a frame is never held back waiting for another one
  (only until the code that produced it yields to the loop), and closing the connection
  sends what is queued first.
- `settle_heap()`: once the app is built, everything imported and created so far (~260,000
  objects: FastAPI, SQLAlchemy, pydantic, botocore…) is moved out of the garbage
  collector's reach with `gc.freeze()` (a full collection walked all of it, ~0.5 s on the
  2-core development machine, a few times a minute under streaming load), and young
  collections wait for 20,000 net allocations instead of 2,000 (`YOUNG_THRESHOLD`). A
  request's objects are freed by reference counting; what crossed the old threshold was
  the live state of requests in flight and the call-log rows waiting for their batch,
  which collections promoted until a full one walked the route table (one object per
  deployment and certification: ~96,000 with the catalog bench's 10,000 deployments). At
  the new threshold, under c=32 load, no collection ran at all; cyclic garbage is still
  collected, a few MB later.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Allocations between young collections (CPython's default: 2,000). A request allocates a few
# hundred short-lived objects; with 32 in flight, collections every 2,000 promoted the live
# ones, and the older generations filled up with them, until a full collection walked the
# route table (one object per deployment and certification) to free them.
YOUNG_THRESHOLD = 20_000


class _BatchedTransport:
    """A transport whose writes of one loop turn go out as one `write`."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(bytes(data))

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending = []
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(len(p) for p in self._pending)

    def __getattr__(self, name: str) -> Any:  # is_closing, get_extra_info, pause_reading…
        return getattr(self._transport, name)


class BatchedWritesProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a `_BatchedTransport`."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        batched = _BatchedTransport(transport, self.loop)  # type: ignore[arg-type]
        super().connection_made(batched)  # type: ignore[arg-type]


def settle_heap() -> None:
    """Collect once, then freeze what survives (the app's modules, classes and singletons)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
