"""The simulator's ASGI app and a server that runs it on its own thread and event loop.

Its own thread means sync tests, async tests and the demo can all use it alike: nothing the
caller does to its event loop can stall the simulator, and vice versa.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from myia.sim import bedrock_control, bedrock_runtime, openai_api
from myia.sim.scenario import Scenario, load_scenario
from myia.sim.state import SimState, SimStats, state_of

STARTUP_TIMEOUT_S = 10.0


async def _health(request: Request) -> Response:
    scenario = state_of(request).scenario
    return JSONResponse({"status": "ok", "simulated": True, "scenario": scenario.name})


async def _stats(request: Request) -> Response:
    return JSONResponse(state_of(request).stats.as_dict())


async def _crash(request: Request, exc: Exception) -> Response:
    # A bug in the simulator should read as a provider 500, not as a hung client.
    return JSONResponse(
        {"message": f"simulator error: {exc!r}"},
        status_code=500,
        headers={"x-amzn-ErrorType": "InternalServerException"},
    )


def build_app(scenario: Scenario, state: SimState | None = None) -> Starlette:
    """The ASGI app; usable in-process with `httpx.ASGITransport` as well."""
    routes = [
        Route("/_sim/health", _health, methods=["GET"]),
        Route("/_sim/stats", _stats, methods=["GET"]),
        *bedrock_control.routes,
        *bedrock_runtime.routes,
        *openai_api.routes,
    ]
    app = Starlette(routes=routes, exception_handlers={Exception: _crash})
    app.state.sim = state or SimState(scenario)
    return app


def _as_scenario(scenario: Scenario | str | Path) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


class SimServer:
    """`SimServer(scenario).start()`; then point boto3 / openai at `.base_url`."""

    def __init__(
        self, scenario: Scenario | str | Path, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.scenario = _as_scenario(scenario)
        self.host = host
        self.port = port
        self.state = SimState(self.scenario)
        self.app = build_app(self.scenario, self.state)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def stats(self) -> SimStats:
        return self.state.stats

    def reset_stats(self) -> None:
        self.state.reset_stats()

    def last_request(self, where: str) -> Any:
        """The last chat request body `where` (a region or a provider slug) received."""
        return self.state.last_request(where)

    def reset_quotas(self) -> None:
        """Refill every token bucket (e.g. between tests sharing one server)."""
        self.state.quotas.reset()

    def start(self) -> SimServer:
        if self._thread is not None:
            return self
        # Binding here rather than in uvicorn makes port 0 usable: we learn the real port.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._socket = sock
        config = uvicorn.Config(
            self.app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name=f"myia-sim:{self.port}",
            daemon=True,
        )
        self._thread.start()
        self._wait_until_up()
        return self

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._thread is not None and not self._thread.is_alive():
                break
            try:
                if httpx.get(f"{self.base_url}/_sim/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"simulator did not start on {self.base_url}")

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=STARTUP_TIMEOUT_S)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@contextmanager
def running_simulator(
    scenario: Scenario | str | Path, host: str = "127.0.0.1", port: int = 0
) -> Iterator[SimServer]:
    server = SimServer(scenario, host=host, port=port).start()
    try:
        yield server
    finally:
        server.stop()
