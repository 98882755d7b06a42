"""A worker's own health endpoint: `GET /health` on WORKER_HEALTH_PORT.

What seed 004's monitoring polls (`curl http://localhost:3004/health` →
`{"status":"healthy","worker":"running"}`). A few lines of HTTP on asyncio streams rather than
a web framework: the worker answers one tiny request and must not hand its signal handling
(SIGTERM → graceful stop) to a server library.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

Report = Callable[[], Awaitable[dict[str, Any]]]
READ_TIMEOUT_S = 5.0
_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


class HealthServer:
    def __init__(self, report: Report, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.report = report
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        # Port 0 asks the OS for a free one; report the real one.
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(READ_TIMEOUT_S):
                request_line = (await reader.readline()).decode("latin-1").split()
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass  # headers: nothing in them matters here
            status, body = await self._answer(request_line)
            writer.write(_response(status, body))
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(self, request_line: list[str]) -> tuple[int, dict[str, Any]]:
        if len(request_line) < 2:
            return 404, {"detail": "not found"}
        method, path = request_line[0], request_line[1].split("?", 1)[0]
        if path not in ("/health", "/"):
            return 404, {"detail": "not found"}
        if method != "GET":
            return 405, {"detail": "use GET"}
        report = await self.report()
        return (200 if report.get("status") == "healthy" else 503), report


def _response(status: int, body: dict[str, Any]) -> bytes:
    payload = json.dumps(body, default=str).encode()
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, '')}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n"
        "Cache-Control: no-store\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + payload
