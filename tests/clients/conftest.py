"""Client libraries no one in the project wrote, against a real `myia serve` → the simulator.

One `myia serve` process and one simulator per test session (per xdist worker), on a SQLite
catalog of their own: one model routed to Bedrock (Converse, SigV4) and one routed to an
OpenAI-compatible provider, both certified for everything a client may ask. Every test runs
on both routes (`route`), so a gap in either wire translation shows up as that route failing.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from myia.apikeys.service import create_api_key
from myia.db.enums import AuthType
from myia.sim import SimServer, running_simulator
from tests.factories import (
    SIM_AWS_ENV,
    make_base_model,
    make_certification,
    make_deployment,
    make_provider,
    make_user,
    run_on,
)
from tests.sim_support import Serve

SCENARIO = Path(__file__).with_name("clients.yaml")
# What a certification passed: everything these tests ask of a route. "structured_output" is
# the capability routing requires when a schema is asked (issue 23); listing it ahead of the
# gateway reading it changes nothing for the other cases.
CAPABILITIES = ("streaming", "tool_calling", "vision", "json_output", "structured_output")
# The /v1 model ids: slugs of the base models' names.
ROUTES = {"openai": "client-chat", "bedrock": "client-claude"}
# Where the simulator records each route's calls: the provider's slug, the Bedrock region.
UPSTREAMS = {"openai": "openco", "bedrock": "us-east-1"}
BEDROCK_MODEL = "anthropic.claude-3-5-sonnet-20241022-v2:0"

# A tool every library can describe, and prompts the simulated model answers predictably:
# it calls the tool whose name or description the prompt mentions (a city in it), and once
# the tool's result comes back it answers quoting that result.
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "The city"}},
            "required": ["city"],
        },
    },
}
WEATHER_PROMPT = "What is the weather in Lisbon?"
TOOL_RESULT = {"temp_c": 21, "sky": "clear"}
# A prompt the model answers with a JSON object matching the schema it was given.
PERSON_PROMPT = "Give the name and age of a person as JSON."


def _results() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {"name": f"core_{i}", "capability": None, "status": "passed"} for i in range(2)
    ]
    rows += [{"name": c, "capability": c, "status": "passed"} for c in CAPABILITIES]
    return rows


@dataclass(frozen=True)
class Gateway:
    """A running `myia serve` and what a client needs to use it."""

    url: str
    key: str
    sim: SimServer

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def upstream_request(self, route: str) -> dict[str, Any]:
        """The last request body the simulator received on `route` (Converse for Bedrock,
        chat completions for the OpenAI-compatible provider). Tests of one worker run one
        at a time, so it is the one their last call made."""
        body = self.sim.last_request(UPSTREAMS[route])
        assert isinstance(body, dict), f"the simulator received no request on {route}"
        return body


def offered_tools(body: dict[str, Any]) -> list[str]:
    """The tools an upstream request lets the model call: none when OpenAI's `tool_choice`
    is "none"; Converse has no such choice, so there the tools must not be sent."""
    if "toolConfig" in body:  # Converse
        return [t["toolSpec"]["name"] for t in body["toolConfig"].get("tools", [])]
    if body.get("tool_choice") == "none":
        return []
    return [t["function"]["name"] for t in body.get("tools") or []]


def schema_sent(body: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema an upstream request asks the answer to follow, however it is sent:
    OpenAI's `response_format`, Converse's `outputConfig.textFormat`, or a tool that
    Converse's `toolChoice` forces."""
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        schema: dict[str, Any] = response_format["json_schema"]["schema"]
        return schema
    text_format = (body.get("outputConfig") or {}).get("textFormat") or {}
    if text_format.get("type") == "json_schema":
        return dict(json.loads(text_format["structure"]["jsonSchema"]["schema"]))
    tool_config = body.get("toolConfig") or {}
    forced = (tool_config.get("toolChoice") or {}).get("tool", {}).get("name")
    for tool in tool_config.get("tools", []):
        if forced and tool["toolSpec"]["name"] == forced:
            return dict(tool["toolSpec"]["inputSchema"]["json"])
    return None


async def _seed(session: AsyncSession, sim: SimServer) -> str:
    """The two routes, certified, and a user's API key."""
    capabilities = {
        "streaming": True, "tool_calling": True, "vision": True, "json_output": True,
        "max_context_window": 200_000, "max_output_tokens": 4096,
    }  # fmt: skip
    openco = await make_provider(
        session, slug="openco", name="OpenCo", base_url=f"{sim.base_url}/openco/v1",
        is_simulated=True,
    )  # fmt: skip
    bedrock = await make_provider(
        session, slug="bedrock", name="Bedrock (simulated)", auth_type=AuthType.AWS_CREDENTIALS,
        base_url=sim.base_url, is_simulated=True,
    )  # fmt: skip
    chat = await make_base_model(
        session, name="Client Chat", vendor="Acme", capabilities=capabilities
    )
    claude = await make_base_model(
        session, name="Client Claude", vendor="Anthropic", capabilities=capabilities
    )
    on_openco = await make_deployment(
        session, base_model=chat, provider=openco, deployment_id="chat-model"
    )
    on_bedrock = await make_deployment(
        session, base_model=claude, provider=bedrock, deployment_id=BEDROCK_MODEL
    )
    await make_certification(
        session, deployment=on_openco, region="global", test_results=_results()
    )
    await make_certification(
        session, deployment=on_bedrock, region="us-east-1", test_results=_results()
    )
    user = await make_user(session)
    _, key = await create_api_key(session=session, user_id=user.id, name="clients")
    return key


@pytest.fixture(scope="session")
def gateway(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """`myia serve` on a seeded catalog, in front of the simulator; its log in the tmp dir
    (printed when it fails to start)."""
    directory = tmp_path_factory.mktemp("clients")
    database = directory / "myia.db"
    shutil.copyfile(sqlite_template, database)
    db_url = f"sqlite+aiosqlite:///{database}"
    with running_simulator(SCENARIO) as sim:
        key = run_on(db_url, lambda session: _seed(session, sim))
        env = {
            **os.environ,
            **SIM_AWS_ENV,
            "MYIA_MODE": "test",
            "DATABASE_URL": db_url,
            "QUEUE_WORKERS_ENABLED": "false",
            "LOG_TO_DB": "false",
            "RETENTION_INTERVAL_S": "0",
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("REDIS_URL", "QUEUE_URL"):
            env.pop(name, None)
        log = directory / "serve.log"
        server = Serve(env, log=log)
        try:
            try:
                server.wait_ready()
            except AssertionError:
                print(log.read_text(errors="replace")[-4000:])
                raise
            yield Gateway(url=server.url, key=key, sim=sim)
        finally:
            server.stop()


@pytest.fixture(params=sorted(ROUTES))
def route(request: pytest.FixtureRequest) -> str:
    """ "openai" or "bedrock": which kind of upstream answers."""
    return str(request.param)


@pytest.fixture
def model(route: str) -> str:
    return ROUTES[route]
