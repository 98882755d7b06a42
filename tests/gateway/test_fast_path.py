"""The /v1 fast path keeps what the app's middlewares guarantee for every other route.

`GatewayFastPath` answers ahead of FastAPI's router: these check it still sits inside the
gateway's body limit (refused before authentication), echoes the request id, and answers a
body cut at the limit, a missing key and an unknown method in the expected shapes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from myia.sim import SimServer
from tests.gateway.conftest import MODEL, make_world
from tests.sim_support import AppServer

LIMIT = 4096


async def test_body_limit_request_id_and_error_shapes_on_v1(
    session: AsyncSession, db_url: str, fresh_sim: SimServer
) -> None:
    world = await make_world(session, fresh_sim)
    auth = {"Authorization": f"Bearer {world.key}"}
    with AppServer(db_url, GATEWAY_MAX_BODY_BYTES=LIMIT) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            # Declared too large, no key: the limit answers first.
            big = b'{"model": "x", "pad": "' + b"a" * (LIMIT + 10) + b'"}'
            refused = await http.post("/v1/chat/completions", content=big)
            assert refused.status_code == 413
            assert refused.json()["error"]["code"] == "request_too_large"

            # Chunked (no Content-Length), past the limit, with a valid key: cut while read.
            async def chunks() -> AsyncIterator[bytes]:
                for _ in range(4):
                    yield b"a" * (LIMIT // 2)

            cut = await http.post("/v1/chat/completions", content=chunks(), headers=auth)
            assert cut.status_code == 413
            assert cut.json()["error"]["code"] == "request_too_large"

            no_key = await http.post("/v1/chat/completions", json={"model": MODEL})
            assert no_key.status_code == 401
            assert no_key.json()["error"]["type"]
            assert no_key.headers["x-request-id"]

            ok = await http.post(
                "/v1/chat/completions",
                json={"model": MODEL, "messages": [{"role": "user", "content": "What is 2 + 3?"}]},
                headers={**auth, "X-Request-ID": "fast-path-1"},
            )
            assert ok.status_code == 200
            assert ok.headers["x-request-id"] == "fast-path-1"
            assert ok.headers["x-myia-deployment"]

            models = await http.get("/v1/models", headers=auth)
            assert models.status_code == 200
            assert MODEL in {m["id"] for m in models.json()["data"]}

            # A method the route does not take: 405, in OpenAI's shape too.
            wrong_method = await http.get("/v1/chat/completions", headers=auth)
            assert wrong_method.status_code == 405
            assert wrong_method.json()["error"]["code"] == "method_not_allowed"
