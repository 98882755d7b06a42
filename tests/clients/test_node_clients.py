"""openai-node and the Vercel AI SDK (npm, versions locked in tests/clients/node/) against
`myia serve` on a Bedrock route and an OpenAI-compatible route.

A script of tests/clients/node/ runs every case of its library in one `node` process per route
(started by the first test that needs it, once per session) and prints each case's result as
JSON, a raised error included as data; the assertions are here, one test per case. node_modules is
installed with `npm ci` once per session (under a file lock: xdist workers share the
folder). Without node or npm these tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.clients.conftest import TOOL_RESULT, Gateway
from tests.conftest import IN_CI

NODE_DIR = Path(__file__).with_name("node")
INSTALL_TIMEOUT_S = 600
CASE_TIMEOUT_S = 300


def _missing_tools() -> list[str]:
    return [tool for tool in ("node", "npm") if shutil.which(tool) is None]


@pytest.fixture(scope="session")
def node() -> str:
    """The `node` binary, with tests/clients/node/node_modules as package-lock.json says."""
    missing = _missing_tools()
    if missing:
        message = f"{' and '.join(missing)} not found on PATH: the Node client tests need them"
        if IN_CI:
            pytest.fail(f"{message}, and under CI=true they must run (apt-get install nodejs "
                        "npm)", pytrace=False)  # fmt: skip
        pytest.skip(message)
    wanted = hashlib.sha256(
        (NODE_DIR / "package.json").read_bytes() + (NODE_DIR / "package-lock.json").read_bytes()
    ).hexdigest()
    stamp = NODE_DIR / "node_modules" / ".myia-installed"
    with open(NODE_DIR / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the first worker installs, the others wait for it
        if not stamp.exists() or stamp.read_text() != wanted:
            done = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline"],
                cwd=NODE_DIR, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S,
            )  # fmt: skip
            assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
            stamp.write_text(wanted)
    return str(shutil.which("node"))


SCRIPTS = {
    "openai_node.mjs": ("chat", "stream", "tools", "structured", "toolChoiceNone", "models",
                        "errors"),
    "ai_sdk.mjs": ("chat", "stream", "tools", "structured", "toolChoiceNone", "errors"),
}  # fmt: skip
_ran: dict[tuple[str, str], dict[str, Any]] = {}


def run_case(node: str, gateway: Gateway, model: str, script: str, case: str) -> Any:
    """One case's printed result; the script runs all its cases on `model` in one process, the
    first time one of them is asked for."""
    if (script, model) not in _ran:
        env = {
            **os.environ,
            "MYIA_BASE_URL": gateway.base_url,
            "MYIA_API_KEY": gateway.key,
            "MYIA_MODEL": model,
        }
        done = subprocess.run(
            [node, script, *SCRIPTS[script]], cwd=NODE_DIR, env=env, capture_output=True,
            text=True, timeout=CASE_TIMEOUT_S,
        )  # fmt: skip
        assert done.returncode == 0, f"node {script} exited {done.returncode}:\n{done.stderr}"
        lines = done.stdout.strip().splitlines()
        assert lines, f"node {script} printed nothing:\n{done.stderr}"
        _ran[(script, model)] = json.loads(lines[-1])
    return _ran[(script, model)][case]


def succeeded(result: Any) -> Any:
    assert "error" not in result, result["error"]
    return result


# --- openai-node -------------------------------------------------------------------------
def openai_node(node: str, gateway: Gateway, model: str, case: str) -> Any:
    return run_case(node, gateway, model, "openai_node.mjs", case)


def test_openai_node_chat(node: str, gateway: Gateway, model: str) -> None:
    result = succeeded(openai_node(node, gateway, model, "chat"))
    assert "42" in result["content"] and result["finish"] == "stop"
    assert result["usage"]["total_tokens"] > 0


def test_openai_node_stream_with_usage(node: str, gateway: Gateway, model: str) -> None:
    result = succeeded(openai_node(node, gateway, model, "stream"))
    assert "harbour juniper" in result["text"].lower()
    assert result["finishes"] == ["stop"]
    assert result["lastChoices"] == 0  # the usage chunk: choices [] and usage
    assert result["usage"]["prompt_tokens"] > 0 and result["usage"]["completion_tokens"] > 0


def test_openai_node_tool_round_trip(node: str, gateway: Gateway, model: str) -> None:
    result = succeeded(openai_node(node, gateway, model, "tools"))
    assert result["first"] == {
        "finish": "tool_calls", "name": "get_weather", "arguments": {"city": "Lisbon"},
    }  # fmt: skip
    assert result["final"]["finish"] == "stop" and result["final"]["toolCalls"] == []
    assert "21" in result["final"]["content"]


def test_openai_node_structured_output_zod(node: str, gateway: Gateway, model: str) -> None:
    """`chat.completions.parse` with `zodResponseFormat`: a strict json_schema."""
    result = succeeded(openai_node(node, gateway, model, "structured"))
    parsed = result["parsed"]
    assert isinstance(parsed, dict) and set(parsed) == {"name", "age"}, result
    assert isinstance(parsed["name"], str) and isinstance(parsed["age"], int)


def test_openai_node_tool_choice_none(node: str, gateway: Gateway, model: str) -> None:
    result = succeeded(openai_node(node, gateway, model, "toolChoiceNone"))
    assert result["toolCalls"] == [], result
    assert result["finish"] == "stop" and result["content"]


def test_openai_node_models_retrieve(node: str, gateway: Gateway, model: str) -> None:
    result = succeeded(openai_node(node, gateway, model, "models"))
    assert model in result["ids"]
    assert result["retrieved"] == {"id": model, "object": "model"}
    assert result["missing"]["instanceOf"] == ["NotFoundError", "APIError"], result["missing"]


def test_openai_node_errors(node: str, gateway: Gateway, model: str) -> None:
    result = succeeded(openai_node(node, gateway, model, "errors"))
    assert result["badKey"]["instanceOf"] == ["AuthenticationError", "APIError"], result
    assert result["badKey"]["raised"]["code"] == "invalid_api_key"
    assert result["unknownModel"]["instanceOf"] == ["NotFoundError", "APIError"], result
    assert result["unknownModel"]["raised"]["code"] == "model_not_found"
    assert result["badValue"]["instanceOf"] == ["BadRequestError", "APIError"], result
    assert result["badValue"]["raised"]["param"] == "temperature"


# --- the Vercel AI SDK -------------------------------------------------------------------
def ai_sdk(node: str, gateway: Gateway, model: str, case: str) -> Any:
    return run_case(node, gateway, model, "ai_sdk.mjs", case)


def test_ai_sdk_generate_text(node: str, gateway: Gateway, model: str) -> None:
    result = succeeded(ai_sdk(node, gateway, model, "chat"))
    assert "42" in result["text"] and result["finish"] == "stop"
    assert result["usage"]["inputTokens"] > 0 and result["usage"]["outputTokens"] > 0


def test_ai_sdk_stream_text_with_usage(node: str, gateway: Gateway, model: str) -> None:
    """streamText on .chat() asks for stream_options.include_usage itself."""
    result = succeeded(ai_sdk(node, gateway, model, "stream"))
    assert "harbour juniper" in result["text"].lower() and result["finish"] == "stop"
    assert result["usage"]["inputTokens"] > 0 and result["usage"]["outputTokens"] > 0


def test_ai_sdk_tool_round_trip(node: str, gateway: Gateway, model: str) -> None:
    result = succeeded(ai_sdk(node, gateway, model, "tools"))
    first, *rest = result["steps"]
    assert first["finish"] == "tool-calls"
    assert first["toolCalls"] == [{"name": "get_weather", "input": {"city": "Lisbon"}}]
    assert result["executed"] == [{"city": "Lisbon"}]
    assert rest and rest[-1]["finish"] == "stop" and rest[-1]["toolCalls"] == []
    assert str(TOOL_RESULT["temp_c"]) in result["text"]


def test_ai_sdk_generate_object(node: str, gateway: Gateway, model: str) -> None:
    result = succeeded(ai_sdk(node, gateway, model, "structured"))
    person = result["object"]
    assert set(person) == {"name", "age"}, result
    assert isinstance(person["name"], str) and isinstance(person["age"], int)


def test_ai_sdk_tool_choice_none(node: str, gateway: Gateway, model: str) -> None:
    result = succeeded(ai_sdk(node, gateway, model, "toolChoiceNone"))
    assert result["toolCalls"] == [] and result["executed"] == [], result
    assert result["finish"] == "stop" and result["text"]


def test_ai_sdk_errors(node: str, gateway: Gateway, model: str) -> None:
    result = succeeded(ai_sdk(node, gateway, model, "errors"))
    for case, status in (("badKey", 401), ("unknownModel", 404), ("badValue", 400)):
        assert result[case]["apiCallError"] is True, result[case]
        assert result[case]["raised"]["status"] == status, result[case]
    assert "temperature" in result["badValue"]["raised"]["message"]
