"""A zero-delay Bedrock upstream, the raw signed Converse call to it, and what a Bedrock route
adds over that call (issue 22).

Importable pieces (for bench/gateway_overhead.py's `UpstreamKind`):

- `bedrock_upstream`: a raw-ASGI app answering `POST /model/{modelId}/converse` (Converse JSON)
  and `/model/{modelId}/converse-stream` (AWS event-stream framing, `myia.sim.eventstream`'s
  encoder: messageStart, five contentBlockDelta, contentBlockStop, messageStop, metadata with
  usage), each frame written as its own body chunk. It does not verify signatures.
- `bedrock_direct(model, stream, endpoint)`: the same call made straight to it — path, headers
  and body of a Converse / ConverseStream request signed with botocore's `SigV4Auth` (signed
  once: the client's per-request cost stays tens of microseconds).
- `bedrock_seed(session, base_url)`: a Bedrock provider at that URL and one deployment certified
  in us-east-1, routed as `bench-bedrock`; `BEDROCK_ENV`: the AWS credentials `myia serve`
  signs with.

Run on its own it measures the route's Bedrock leg without the database: a "front" process (a
raw-ASGI app under uvicorn+uvloop, as the gateway's /v1 fast path) takes an OpenAI-style chat
request, calls the upstream through an adapter and answers in OpenAI's wire (JSON or SSE), once
with the async path (`RawBedrockAdapter`, what the gateway and chat use) and once with the boto3
adapter (threads), against the raw signed call. Clients: bench/loadgen.py's closed loop in this
process. Concurrency 1 (p50/p99, rounds alternate direct/async/boto3) and 32 (requests a
second, ratio to direct); medians over `--runs`; `--cpu-stress` keeps both cores busy
(bench/stress.py). Writes bench/results/bedrock_overhead.json.

    .venv/bin/python bench/bedrock_upstream.py [--seconds S] [--runs N] [--cpu-stress]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))  # loadgen, stress
sys.path.insert(0, str(BENCH.parent / "src"))

from myia.sim import eventstream  # noqa: E402

RESULTS = BENCH / "results" / "bedrock_overhead.json"
MODEL_ID = "anthropic.claude-3-5-haiku-20241022-v1:0"
REGION = "us-east-1"
BEDROCK_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIABENCH00000000001",
    "AWS_SECRET_ACCESS_KEY": "bench-secret-key-0000000000",
    "AWS_DEFAULT_REGION": REGION,
}
PROMPT = "Say hello in five words."
WORDS = ("Hello ", "there, ", "how ", "are ", "you?")
USAGE = {"inputTokens": 12, "outputTokens": 6, "totalTokens": 18}
TARGETS = {"added_p50_ms_c1": 1.5, "throughput_ratio_c32": 0.7}

# --- the upstream ------------------------------------------------------------------------
_CONVERSE = json.dumps(
    {
        "output": {"message": {"role": "assistant", "content": [{"text": "".join(WORDS)}]}},
        "stopReason": "end_turn",
        "usage": USAGE,
        "metrics": {"latencyMs": 0},
    }
).encode()
_FRAMES = [
    eventstream.event("messageStart", {"role": "assistant"}),
    *(
        eventstream.event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": w}})
        for w in WORDS
    ),
    eventstream.event("contentBlockStop", {"contentBlockIndex": 0}),
    eventstream.event("messageStop", {"stopReason": "end_turn"}),
    eventstream.event("metadata", {"usage": USAGE, "metrics": {"latencyMs": 0}}),
]


async def _read_body(receive: Any) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += bytes(message.get("body", b""))
        if not message.get("more_body"):
            return body


async def bedrock_upstream(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await _read_body(receive)
    path: str = scope["path"]
    if scope["method"] != "POST" or not path.startswith("/model/"):
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    if path.endswith("/converse-stream"):
        headers = [(b"content-type", b"application/vnd.amazon.eventstream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for frame in _FRAMES:
            await send({"type": "http.response.body", "body": frame, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": _CONVERSE})


def bedrock_direct(
    model: str, stream: bool, endpoint: str = "http://127.0.0.1"
) -> tuple[str, dict[str, str], bytes]:
    """Path, headers and body of the raw Converse call, SigV4-signed by botocore."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from botocore.utils import percent_encode

    path = f"/model/{percent_encode(model)}/{'converse-stream' if stream else 'converse'}"
    body = json.dumps({"messages": [{"role": "user", "content": [{"text": PROMPT}]}]}).encode()
    request = AWSRequest(method="POST", url=endpoint.rstrip("/") + path, data=body,
                         headers={"Content-Type": "application/json"})  # fmt: skip
    credentials = Credentials(
        BEDROCK_ENV["AWS_ACCESS_KEY_ID"], BEDROCK_ENV["AWS_SECRET_ACCESS_KEY"]
    )
    SigV4Auth(credentials, "bedrock", REGION).add_auth(request)
    return path, dict(request.headers.items()), body


async def bedrock_seed(session: Any, upstream: str) -> None:
    """Provider `bench-bedrock` at `upstream`, model "Bench Bedrock" certified in us-east-1."""
    from catalog_fill import seed_certified

    from myia.db.enums import AuthType

    await seed_certified(session, slug="bench-bedrock", auth_type=AuthType.AWS_CREDENTIALS,
                         base_url=upstream, model_name="Bench Bedrock", deployment_id=MODEL_ID,
                         region=REGION)  # fmt: skip


# --- the front: an OpenAI-style route onto one Bedrock adapter -----------------------------
_front: dict[str, Any] = {}


def _adapter(kind: str, upstream: str) -> Any:
    from pydantic import SecretStr

    from myia.db.enums import AuthType
    from myia.providers.connection import AwsCredentials, ProviderConnection
    from myia.providers.registry import get_adapter
    from myia.routing.http1 import Http1Client
    from myia.routing.raw_bedrock import RawBedrockAdapter

    connection = ProviderConnection(
        slug="bench-bedrock", auth_type=AuthType.AWS_CREDENTIALS, base_url=upstream,
        region=REGION, timeout_s=30,
        credentials=AwsCredentials(
            access_key_id=SecretStr(BEDROCK_ENV["AWS_ACCESS_KEY_ID"]),
            secret_access_key=SecretStr(BEDROCK_ENV["AWS_SECRET_ACCESS_KEY"]),
        ),
    )  # fmt: skip
    if kind == "async":
        return RawBedrockAdapter(connection, Http1Client(timeout_s=30, connect_timeout_s=5))
    return get_adapter(connection)


async def front_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    from myia.providers.types import ChatMessage, ChatRequest, StreamEnd, TextDelta

    payload = json.loads(await _read_body(receive))
    adapter = _front.get("adapter")
    if adapter is None:
        adapter = _front["adapter"] = _adapter(os.environ["FRONT_KIND"], os.environ["UPSTREAM"])
    question = ChatMessage.user(payload["messages"][0]["content"])
    request = ChatRequest(model=MODEL_ID, region=REGION, messages=[question])
    if not payload.get("stream"):
        answer = await adapter.chat(request)
        message = {"role": "assistant", "content": answer.text}
        usage = {"prompt_tokens": answer.usage.input_tokens,
                 "completion_tokens": answer.usage.output_tokens}  # fmt: skip
        body = json.dumps({"id": "x", "object": "chat.completion", "model": "bench-bedrock",
                           "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
                           "usage": usage}).encode()  # fmt: skip
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/event-stream")]})  # fmt: skip
    async for event in adapter.stream(request):
        if isinstance(event, TextDelta):
            chunk: dict[str, Any] = {"choices": [{"index": 0, "delta": {"content": event.text}}]}
        elif isinstance(event, StreamEnd):
            tokens = {"prompt_tokens": event.usage.input_tokens,
                      "completion_tokens": event.usage.output_tokens}  # fmt: skip
            chunk = {"choices": [], "usage": tokens}
        else:
            continue
        data = b"data: " + json.dumps(chunk).encode() + b"\n\n"
        await send({"type": "http.response.body", "body": data, "more_body": True})
    await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})


# --- the runner ----------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(app: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    code = (f"import sys; sys.path.insert(0, {str(BENCH)!r}); import uvicorn, bedrock_upstream; "
            f"uvicorn.run(bedrock_upstream.{app}, host='127.0.0.1', port={port}, loop='uvloop', "
            "http='httptools', log_level='warning', access_log=False, lifespan='off')")  # fmt: skip
    process = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, **env})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{app} did not start on port {port}")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def _measure(port: int, request: tuple[str, str, dict[str, str], bytes], clients: int,
                   seconds: float) -> dict[str, Any]:  # fmt: skip
    from loadgen import run_closed_loop

    tally = await run_closed_loop("127.0.0.1", port, clients, seconds, lambda n, i: request)
    lat = tally.latencies_ms
    return {
        "p50_ms": round(_pct(lat, 50), 3) if lat else None,
        "p99_ms": round(_pct(lat, 99), 3) if lat else None,
        "rps": round(len(lat) / seconds, 1),
        "errors": tally.errors,
    }


async def _rounds(ports: dict[str, int], upstream: int, args: argparse.Namespace
                  ) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {}
    for stream in (False, True):
        path, headers, body = bedrock_direct(MODEL_ID, stream, f"http://127.0.0.1:{upstream}")
        openai_body: dict[str, Any] = {
            "model": "bench-bedrock",
            "messages": [{"role": "user", "content": PROMPT}],
        }
        if stream:
            openai_body["stream"] = True
        requests = {"direct": ("POST", path, headers, body)}
        for name in ports:
            requests[name] = ("POST", "/v1/chat/completions",
                              {"Content-Type": "application/json"},
                              json.dumps(openai_body).encode())  # fmt: skip
        port_of = {"direct": upstream, **ports}
        for name in requests:  # warm-up: connections, clients, the first signing
            await _measure(port_of[name], requests[name], 4, 1.0)
        per_run: list[dict[str, Any]] = []
        for _ in range(args.runs):
            run: dict[str, Any] = {}
            for clients in (1, 32):
                for name in requests:
                    run[f"{name}_c{clients}"] = await _measure(
                        port_of[name], requests[name], clients, args.seconds
                    )
            per_run.append(run)
        summary: dict[str, Any] = {}
        for key in per_run[0]:
            summary[key] = {
                field: round(statistics.median(r[key][field] for r in per_run), 3)
                for field in ("p50_ms", "p99_ms", "rps")
                if all(r[key][field] is not None for r in per_run)
            }
            summary[key]["errors"] = sum(sum(r[key]["errors"].values()) for r in per_run)
        for name in ports:
            summary[f"{name}_added_p50_ms_c1"] = round(
                summary[f"{name}_c1"]["p50_ms"] - summary["direct_c1"]["p50_ms"], 3
            )
            summary[f"{name}_added_p99_ms_c1"] = round(
                summary[f"{name}_c1"]["p99_ms"] - summary["direct_c1"]["p99_ms"], 3
            )
            summary[f"{name}_ratio_c32"] = round(
                summary[f"{name}_c32"]["rps"] / summary["direct_c32"]["rps"], 3
            )
        out["stream" if stream else "plain"] = {"summary": summary, "per_run": per_run}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per measured window")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cpu-stress", action="store_true")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    from stress import cpu_stress

    upstream_port = _free_port()
    upstream = _serve("bedrock_upstream", upstream_port, {})
    fronts: dict[str, subprocess.Popen[bytes]] = {}
    ports = {"async": _free_port(), "boto3": _free_port()}
    try:
        for kind, port in ports.items():
            env = {"FRONT_KIND": kind, "UPSTREAM": f"http://127.0.0.1:{upstream_port}"}
            fronts[kind] = _serve("front_app", port, env)
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        with cpu_stress(args.cpu_stress) as spinners:
            load_before = os.getloadavg()
            found = asyncio.run(_rounds(ports, upstream_port, args))
            load_after = os.getloadavg()
    finally:
        for process in [upstream, *fronts.values()]:
            process.terminate()
            process.wait(timeout=10)
    result = {
        "bench": "bedrock_overhead",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "cpu_stress": bool(spinners),
        "load_average": {"before": load_before, "after": load_after},
        "seconds": args.seconds,
        "runs": args.runs,
        "targets": TARGETS,
        "note": "front = a raw-ASGI OpenAI-style route onto one Bedrock adapter (no database, "
        "auth or routing); async = RawBedrockAdapter (gateway and chat), boto3 = BedrockAdapter",
        **found,
    }
    previous: dict[str, Any] = {}
    if args.output.exists():
        previous = json.loads(args.output.read_text())
    previous["cpu_stress" if args.cpu_stress else "quiet"] = result
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(previous, indent=2) + "\n")
    for mode in ("plain", "stream"):
        s = found[mode]["summary"]
        print(
            f"{mode}: direct c1 p50 {s['direct_c1']['p50_ms']} ms, c32 {s['direct_c32']['rps']} rps"
        )
        for name in ports:
            print(f"  {name}: added p50 {s[f'{name}_added_p50_ms_c1']} ms, "
                  f"p99 {s[f'{name}_added_p99_ms_c1']} ms, c32 {s[f'{name}_c32']['rps']} rps "
                  f"(x{s[f'{name}_ratio_c32']}), errors {s[f'{name}_c1']['errors']}"
                  f"+{s[f'{name}_c32']['errors']}")  # fmt: skip
    print(f"load average {load_before} -> {load_after}; wrote {args.output}")


if __name__ == "__main__":
    main()
