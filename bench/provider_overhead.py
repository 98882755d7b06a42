"""What the provider adapters cost over a raw HTTP call of the same request.

Starts the provider simulator with a zero-latency, quota-free scenario (built here), then
times N calls (after a warm-up) of one small chat request four ways:

- Bedrock adapter: `BedrockAdapter.chat` (thread hop, boto3 `converse`, response mapping);
- Bedrock raw: `POST /model/<id>/converse` with the same JSON body, SigV4-signed per call
  with botocore's `SigV4Auth`, sent by one reused `httpx.AsyncClient`;
- OpenAI adapter: `OpenAICompatAdapter.chat` (openai SDK, response mapping);
- OpenAI raw: `POST /openai/v1/chat/completions` with the same JSON, one reused client.

Calls alternate adapter/raw so that drift on the machine hits both alike. The simulator runs
in this process (its own thread and event loop), so both paths share the same server cost;
the ratio adapter/raw (of the medians) is the adapters' overhead. Prints a table and writes
bench/results/provider_overhead.json.

    .venv/bin/python bench/provider_overhead.py [--calls N] [--warmup N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

from myia.db.enums import AuthType
from myia.providers import (
    ApiKeyCredentials,
    AwsCredentials,
    ChatMessage,
    ChatRequest,
    ProviderConnection,
    get_adapter,
)
from myia.providers.bedrock.converse import build_converse_params
from myia.providers.openai_compat.messages import build_chat_params
from myia.sim import Scenario, SimServer

RESULTS = Path(__file__).parent / "results" / "provider_overhead.json"
REGION = "us-east-1"
BEDROCK_MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
OPENAI_MODEL = "gpt-4o-mini"
ACCESS_KEY, SECRET_KEY, API_KEY = "AKIABENCHOVERHEAD001", "bench-secret-key", "sk-bench"

# No latency, no quota, no pacing: what is left is the client side plus the simulator's own
# (constant) work, the same for the adapter and the raw call.
SCENARIO = Scenario.model_validate(
    {
        "name": "bench-overhead",
        "defaults": {"latency": 0, "time_to_first_token": 0, "tokens_per_second": 0},
        "regions": {REGION: {}},
        "models": [{"id": BEDROCK_MODEL, "name": "Claude 3.5 Haiku", "provider": "Anthropic"}],
        "openai_providers": [{"slug": "openai", "models": [{"id": OPENAI_MODEL}]}],
    }
)

Call = Callable[[], Awaitable[Any]]


def chat_request(model: str) -> ChatRequest:
    return ChatRequest(
        model=model,
        system="You are terse.",
        messages=[ChatMessage.user("Reply with the word ready.")],
        max_tokens=64,
        temperature=0.0,
        region=REGION,
    )


def bedrock_paths(base_url: str, client: httpx.AsyncClient) -> tuple[Call, Call]:
    adapter = get_adapter(
        ProviderConnection(
            slug="bedrock",
            auth_type=AuthType.AWS_CREDENTIALS,
            base_url=base_url,
            region=REGION,
            credentials=AwsCredentials(
                access_key_id=SecretStr(ACCESS_KEY), secret_access_key=SecretStr(SECRET_KEY)
            ),
        )
    )
    request = chat_request(BEDROCK_MODEL)
    params = build_converse_params(request, BEDROCK_MODEL)
    body = json.dumps({k: v for k, v in params.items() if k != "modelId"}).encode()
    url = f"{base_url}/model/{quote(BEDROCK_MODEL, safe='')}/converse"
    signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "bedrock", REGION)

    async def via_adapter() -> Any:
        return await adapter.chat(request)

    async def raw() -> Any:
        # Signed per call, as any real client must: the signature covers the date.
        signed = AWSRequest(
            method="POST", url=url, data=body, headers={"Content-Type": "application/json"}
        )
        signer.add_auth(signed)
        response = await client.post(url, content=body, headers=dict(signed.headers.items()))
        response.raise_for_status()
        return response.json()

    return via_adapter, raw


def openai_paths(base_url: str, client: httpx.AsyncClient) -> tuple[Call, Call]:
    adapter = get_adapter(
        ProviderConnection(
            slug="openai",
            auth_type=AuthType.API_KEY,
            base_url=f"{base_url}/openai/v1",
            credentials=ApiKeyCredentials(api_key=SecretStr(API_KEY)),
        )
    )
    request = chat_request(OPENAI_MODEL)
    body = build_chat_params(request)
    url = f"{base_url}/openai/v1/chat/completions"
    headers = {"Authorization": f"Bearer {API_KEY}"}

    async def via_adapter() -> Any:
        return await adapter.chat(request)

    async def raw() -> Any:
        response = await client.post(url, json=body, headers=headers)
        response.raise_for_status()
        return response.json()

    return via_adapter, raw


async def _timed(call: Call) -> float:
    start = time.perf_counter()
    await call()
    return (time.perf_counter() - start) * 1000.0


def stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
        "min_ms": round(ordered[0], 3),
    }


async def compare(adapter: Call, raw: Call, calls: int, warmup: int) -> dict[str, Any]:
    for _ in range(warmup):
        await adapter()
        await raw()
    adapter_ms: list[float] = []
    raw_ms: list[float] = []
    for _ in range(calls):
        adapter_ms.append(await _timed(adapter))
        raw_ms.append(await _timed(raw))
    a, r = stats(adapter_ms), stats(raw_ms)
    return {
        "adapter": a,
        "raw": r,
        "ratio_p50": round(a["p50_ms"] / r["p50_ms"], 3),
        "ratio_mean": round(a["mean_ms"] / r["mean_ms"], 3),
        "overhead_p50_ms": round(a["p50_ms"] - r["p50_ms"], 3),
    }


async def measure(base_url: str, calls: int, warmup: int) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as client:
        bedrock = await compare(*bedrock_paths(base_url, client), calls, warmup)
        openai = await compare(*openai_paths(base_url, client), calls, warmup)
    return {"bedrock": bedrock, "openai": openai}


def machine_info() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "versions": {name: version(name) for name in ("boto3", "botocore", "openai", "httpx")},
    }


def print_table(console: Console, results: dict[str, Any]) -> None:
    table = Table(title="Provider adapter overhead (simulator, zero latency)")
    for column in ("path", "p50 ms", "mean ms", "p95 ms", "ratio p50", "ratio mean"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for name in ("bedrock", "openai"):
        result = results[name]
        for kind in ("adapter", "raw"):
            figures = result[kind]
            ratios = (
                (f"{result['ratio_p50']:.2f}", f"{result['ratio_mean']:.2f}")
                if kind == "adapter"
                else ("", "")
            )
            table.add_row(
                f"{name} {kind}",
                f"{figures['p50_ms']:.2f}",
                f"{figures['mean_ms']:.2f}",
                f"{figures['p95_ms']:.2f}",
                *ratios,
            )
    console.print(table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=300, help="timed calls per path")
    parser.add_argument("--warmup", type=int, default=30, help="untimed calls per path first")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    console = Console(width=max(Console().width, 100))
    with SimServer(SCENARIO) as sim:
        results = asyncio.run(measure(sim.base_url, args.calls, args.warmup))
    print_table(console, results)
    report = {
        "bedrock_ratio": results["bedrock"]["ratio_p50"],
        "openai_ratio": results["openai"]["ratio_p50"],
        "ratio_is": "adapter p50 / raw httpx p50, same request, same simulator",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "calls": args.calls,
        "warmup": args.warmup,
        "request": {
            "bedrock_model": BEDROCK_MODEL,
            "openai_model": OPENAI_MODEL,
            "max_tokens": 64,
            "messages": 1,
            "system": True,
        },
        **results,
        "machine": machine_info(),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    console.print(
        f"bedrock adapter/raw = {report['bedrock_ratio']:.2f}×, "
        f"openai adapter/raw = {report['openai_ratio']:.2f}× → {args.output}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
