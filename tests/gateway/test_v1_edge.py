"""The HTTP edge of /v1: every refusal in OpenAI's shape, GET /v1/models/{id}, the gateway's
own body limit (20 MiB by default, apart from the API's 1 MB) and CORS (off by default, an
allow-list of origins when on), all through a real server on loopback.
"""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import zlib
from typing import Any

import httpx
import openai
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from myia.api.gateway_cors import parse_origins
from myia.db.enums import CertificationStatus
from myia.sim import SimServer
from tests.factories import make_base_model, make_certification, make_deployment, make_provider
from tests.gateway.conftest import MODEL, make_world, results
from tests.sim_support import AppServer

ORIGIN = "https://app.example.com"
SLASHED = "meta-llama/Llama-3-70b-Ünï"  # a deployment id with a slash and Unicode


def openai_error(answer: httpx.Response, status: int, code: str | None) -> dict[str, Any]:
    """The answer's error object, once checked to be OpenAI's shape and nothing else."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert error["code"] == code and error["message"] and error["type"]
    return dict(error)


def padded_png(rgb: tuple[int, int, int], padding: int) -> bytes:
    """A 4x4 PNG of one colour carrying `padding` bytes of an ancillary chunk: big on the
    wire, and the simulator still names its colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"zzPd", b"\x01" * padding)
        + chunk(b"IDAT", zlib.compress((b"\x00" + bytes(rgb) * 4) * 4))
        + chunk(b"IEND", b"")
    )


def image_request(png: bytes) -> dict[str, Any]:
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    content = [
        {"type": "text", "text": "What colour is this image?"},
        {"type": "image_url", "image_url": {"url": url}},
    ]
    return {"model": MODEL, "messages": [{"role": "user", "content": content}]}


async def declared_only(port: int, path: str, length: int, key: str) -> tuple[int, bytes]:
    """A POST announcing `length` bytes and sending none: the answer must come unread."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {key}\r\nContent-Length: {length}\r\n\r\n".encode()
    )
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), timeout=60)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


async def add_models(session: AsyncSession, sim: SimServer) -> None:
    """A routable model whose deployment id has a slash and Unicode, and a model that exists
    but may not be routed to (its only certification failed)."""
    provider = await make_provider(
        session,
        slug="slashco",
        name="slashco",
        base_url=f"{sim.base_url}/midco/v1",
        is_simulated=True,
    )
    llama = await make_base_model(session, name="Llama Edge", vendor="Meta")
    routable = await make_deployment(
        session, base_model=llama, provider=provider, deployment_id=SLASHED
    )
    await make_certification(session, deployment=routable, region="global", test_results=results())
    hidden = await make_base_model(session, name="Hidden Edge", vendor="Acme")
    failed = await make_deployment(session, base_model=hidden, provider=provider)
    await make_certification(
        session,
        deployment=failed,
        region="global",
        status=CertificationStatus.FAILED,
        test_results=results(),
    )


async def test_v1_refusals_models_by_id_and_body_limit(
    session: AsyncSession, db_url: str, fresh_sim: SimServer
) -> None:
    world = await make_world(session, fresh_sim)
    await add_models(session, fresh_sim)
    auth = {"Authorization": f"Bearer {world.key}"}
    with AppServer(db_url) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=120) as http:
            # Unknown paths, with or without a key: 404 unknown_url, the path quoted.
            for method, path in (("GET", "/v1/foo"), ("POST", "/v1/embeddings"), ("GET", "/v1")):
                answer = await http.request(method, path, headers=auth, json={})
                error = openai_error(answer, 404, "unknown_url")
                assert error["message"].startswith(f"Unknown request URL: {method} {path}.")
            openai_error(await http.get("/v1/foo/bar"), 404, "unknown_url")
            # The rest of the API keeps its own shape.
            assert "detail" in (await http.get("/api/v2/nothing-here")).json()

            # A method the path does not take: 405, with Allow.
            for method, path, allowed in (
                ("GET", "/v1/chat/completions", "POST"),
                ("DELETE", "/v1/models", "GET"),
                ("POST", f"/v1/models/{MODEL}", "GET"),
                ("OPTIONS", "/v1/chat/completions", "POST"),
            ):
                answer = await http.request(method, path, headers=auth)
                openai_error(answer, 405, "method_not_allowed")
                assert answer.headers["allow"] == allowed

            # A NUL in the URL: 400 in OpenAI's shape (422 with `detail` elsewhere).
            openai_error(await http.get("/v1/models?x=%00", headers=auth), 400, "invalid_url")
            assert "detail" in (await http.get("/api/v2/models?q=a%00b")).json()

            # GET /v1/models/{id}: the listing's object; by slug, deployment id (slashes,
            # colons, Unicode), not for a model that exists but is not routable.
            listed = (await http.get("/v1/models", headers=auth)).json()["data"]
            by_id = {item["id"]: item for item in listed}
            one = await http.get(f"/v1/models/{MODEL}", headers=auth)
            assert one.status_code == 200
            assert one.json() == by_id[MODEL]
            assert set(one.json()) == {"id", "object", "created", "owned_by"}
            assert one.json()["object"] == "model"
            llama = await http.get(f"/v1/models/{SLASHED}", headers=auth)
            assert llama.status_code == 200, llama.text
            assert llama.json() == by_id["llama-edge"]
            claude = await http.get(
                "/v1/models/anthropic.claude-3-5-sonnet-20241022-v2:0", headers=auth
            )
            assert claude.json() == by_id["claude-sim"]
            assert "hidden-edge" not in by_id
            for missing in ("hidden-edge", "Hidden Edge", "meta-llama/nope", "nope"):
                error = openai_error(
                    await http.get(f"/v1/models/{missing}", headers=auth), 404, "model_not_found"
                )
                assert error["param"] == "model"
            openai_error(await http.get(f"/v1/models/{MODEL}"), 401, "invalid_api_key")
            # The official SDK reads them as its own objects and exceptions.
            sdk = openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key=world.key, max_retries=0)
            retrieved = await sdk.models.retrieve(SLASHED)
            assert (retrieved.id, retrieved.object) == ("llama-edge", "model")
            with pytest.raises(openai.NotFoundError) as missing_model:
                await sdk.models.retrieve("meta-llama/nope")
            assert missing_model.value.code == "model_not_found"
            await sdk.close()

            # The gateway's body limit is its own: a ~5 MB base64 image passes (the API's
            # 1 MB would refuse it) and reaches the simulator whole.
            body = json.dumps(image_request(padded_png((255, 0, 0), 3_800_000))).encode()
            assert 5_000_000 < len(body) < 5_300_000
            ok = await http.post("/v1/chat/completions", content=body, headers=auth)
            assert ok.status_code == 200, ok.text[:500]
            assert "red" in ok.json()["choices"][0]["message"]["content"].lower()

        # 21 MiB declared: refused before a byte of it is read, in OpenAI's shape.
        status, raw = await declared_only(
            server.port, "/v1/chat/completions", 21 * 1024 * 1024, world.key
        )
        assert status == 413
        error = json.loads(raw)["error"]
        assert error["code"] == "request_too_large"
        assert "GATEWAY_MAX_BODY_BYTES" in error["message"]
        # The API's own limit is unchanged (1 MB), in its own shape.
        status, raw = await declared_only(server.port, "/api/v2/chats", 2_000_000, world.key)
        assert status == 413 and "MAX_REQUEST_BODY_BYTES" in json.loads(raw)["detail"]


async def test_v1_body_limit_counts_a_streamed_body(
    session: AsyncSession, db_url: str, fresh_sim: SimServer
) -> None:
    """A 21 MiB body sent chunked (no length declared) is cut at the limit while read."""
    world = await make_world(session, fresh_sim)
    auth = {"Authorization": f"Bearer {world.key}"}
    with AppServer(db_url) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=120) as http:
            big = json.dumps(image_request(padded_png((0, 0, 255), 17_000_000))).encode()
            assert len(big) > 21 * 1024 * 1024

            async def chunks() -> Any:
                for start in range(0, len(big), 1 << 20):
                    yield big[start : start + (1 << 20)]

            cut = await http.post("/v1/chat/completions", content=chunks(), headers=auth)
            error = openai_error(cut, 413, "request_too_large")
            assert "GATEWAY_MAX_BODY_BYTES" in error["message"]


async def test_cors_is_off_by_default(
    session: AsyncSession, db_url: str, fresh_sim: SimServer
) -> None:
    world = await make_world(session, fresh_sim)
    with AppServer(db_url) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            preflight = await http.options(
                "/v1/chat/completions",
                headers={
                    "Origin": ORIGIN,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization, content-type",
                },
            )
            assert preflight.status_code == 405
            assert "access-control-allow-origin" not in preflight.headers
            listed = await http.get(
                "/v1/models", headers={"Origin": ORIGIN, "Authorization": f"Bearer {world.key}"}
            )
            assert listed.status_code == 200
            assert not any(h.startswith("access-control-") for h in listed.headers)


async def test_cors_allow_list(session: AsyncSession, db_url: str, fresh_sim: SimServer) -> None:
    world = await make_world(session, fresh_sim)
    auth = {"Authorization": f"Bearer {world.key}"}
    with AppServer(
        db_url, GATEWAY_CORS_ORIGINS=f"{ORIGIN}, http://localhost:5173", GATEWAY_MAX_BODY_BYTES=4096
    ) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            asks = {
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type, x-stainless-os",
            }
            preflight = await http.options(
                "/v1/chat/completions", headers={"Origin": ORIGIN, **asks}
            )
            assert preflight.status_code == 204
            assert preflight.headers["access-control-allow-origin"] == ORIGIN
            assert preflight.headers["access-control-allow-methods"] == "GET, POST"
            allowed_headers = preflight.headers["access-control-allow-headers"].lower()
            assert "authorization" in allowed_headers and "content-type" in allowed_headers
            assert "access-control-allow-credentials" not in preflight.headers
            assert preflight.headers["vary"] == "Origin"
            # The hardening headers are still there (web/security_headers.py is outermost).
            assert preflight.headers["x-content-type-options"] == "nosniff"

            # Refused: another origin, another method, a header the gateway does not take.
            for origin, extra in (
                ("https://evil.example.com", {}),
                (f"{ORIGIN}.evil.example.com", {}),
                (ORIGIN, {"Access-Control-Request-Method": "DELETE"}),
                (ORIGIN, {"Access-Control-Request-Headers": "authorization, x-secret"}),
            ):
                refused = await http.options(
                    "/v1/chat/completions", headers={"Origin": origin, **asks, **extra}
                )
                openai_error(refused, 403, "cors_refused")
                assert "access-control-allow-origin" not in refused.headers

            # Actual requests: the listed origin echoed (never *), others get nothing.
            ok = await http.post(
                "/v1/chat/completions",
                json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]},
                headers={**auth, "Origin": ORIGIN},
            )
            assert ok.status_code == 200
            assert ok.headers["access-control-allow-origin"] == ORIGIN
            assert "x-myia-deployment" in ok.headers["access-control-expose-headers"]
            other = await http.get("/v1/models", headers={**auth, "Origin": "https://evil.test"})
            assert other.status_code == 200
            assert "access-control-allow-origin" not in other.headers
            # A refusal from the body limit still tells the browser page why.
            big = await http.post(
                "/v1/chat/completions", content=b"x" * 5000, headers={**auth, "Origin": ORIGIN}
            )
            openai_error(big, 413, "request_too_large")
            assert big.headers["access-control-allow-origin"] == ORIGIN
            # Not /v1: the pages and the API stay same-origin only.
            api = await http.options(
                "/api/v2/models", headers={"Origin": ORIGIN, **asks, "Authorization": "x"}
            )
            assert "access-control-allow-origin" not in api.headers


@pytest.mark.parametrize(
    "value",
    ["*", "https://app.example.com/path", "app.example.com", "ftp://x.example", "https://u@x.io"],
)
def test_cors_origins_must_be_exact_origins(value: str) -> None:
    with pytest.raises(ValueError, match="GATEWAY_CORS_ORIGINS"):
        parse_origins(f"https://ok.example, {value}")


def test_cors_origins_are_normalised() -> None:
    assert parse_origins(" https://App.Example.com/ ,http://localhost:5173,, ") == frozenset(
        {"https://app.example.com", "http://localhost:5173"}
    )
    assert parse_origins("") == frozenset()
