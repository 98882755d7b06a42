"""A model's `default_params` and a deployment's `custom_params` reach the provider on every
gateway call, under the request's own values (issue 28).

What the simulator received is read from what it did with it: it honours `max_tokens` (the
answer is cut, `finish_reason` "length", at most that many completion tokens) and `stop`
sequences, on the OpenAI wire and on Bedrock's Converse alike.
"""

from __future__ import annotations

import httpx
import openai
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.enums import UserRole
from myia.db.models import BaseModel
from myia.sim import SimServer
from tests.factories import bearer_headers
from tests.gateway.conftest import MODEL, make_world
from tests.sim_support import AppServer

PROMPT = [{"role": "user", "content": "Reply with exactly: harbour juniper lantern meadow"}]


async def test_model_defaults_deployment_overrides_and_request_values(
    session: AsyncSession, db_url: str, fresh_sim: SimServer
) -> None:
    world = await make_world(session, fresh_sim)
    test_chat = await session.get(BaseModel, world.deployments["notoolco"].base_model_id)
    claude = await session.get(BaseModel, world.deployments["claude"].base_model_id)
    assert test_chat is not None and claude is not None
    test_chat.default_params = {"max_tokens": 2, "temperature": 0.3}
    claude.default_params = {"stop": ["lantern"]}
    await session.commit()
    admin = await bearer_headers(session, role=UserRole.ADMIN)

    with AppServer(db_url) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=world.key, max_retries=0)

        # The model's default: the answer is cut at 2 tokens (OpenAI wire, the raw fast path).
        cut = client.chat.completions.with_raw_response.create(model=MODEL, messages=PROMPT)
        assert cut.headers["x-myia-provider"] == "notoolco"
        answer = cut.parse()
        assert answer.choices[0].finish_reason == "length"
        assert answer.usage is not None and answer.usage.completion_tokens <= 2
        assert "meadow" not in (answer.choices[0].message.content or "")

        # The request's own value wins over the model's default, streamed or not.
        whole = client.chat.completions.create(model=MODEL, messages=PROMPT, max_tokens=200)
        assert whole.choices[0].finish_reason == "stop"
        assert "harbour juniper lantern meadow" in (whole.choices[0].message.content or "")
        chunks = list(
            client.chat.completions.create(
                model=MODEL, messages=PROMPT, stream=True, max_tokens=200
            )
        )
        streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert "harbour juniper lantern meadow" in streamed
        chunks = list(client.chat.completions.create(model=MODEL, messages=PROMPT, stream=True))
        finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
        assert "length" in finishes

        # Bedrock (Converse through the raw SigV4 path): the model's stop sequence applies...
        stopped = client.chat.completions.create(model="claude-sim", messages=PROMPT)
        text = stopped.choices[0].message.content or ""
        assert "juniper" in text and "lantern" not in text and "meadow" not in text
        # ...unless the request brings its own.
        own = client.chat.completions.create(model="claude-sim", messages=PROMPT, stop=["zzz"])
        assert "lantern meadow" in (own.choices[0].message.content or "")

        async with httpx.AsyncClient(base_url=server.url, headers=admin) as api:
            deployment = f"/api/v2/deployments/{world.deployments['notoolco'].id}"
            # An unknown or ill-typed key is refused by name, and nothing is stored.
            for bad, named in (
                ({"top_k": 5}, "top_k"),
                ({"max_tokens": "many"}, "max_tokens"),
                ({"temperature": 7}, "temperature"),
            ):
                refused = await api.put(deployment, json={"custom_params": bad})
                assert refused.status_code == 422, refused.text
                assert named in refused.text
            assert (await api.get(deployment)).json()["custom_params"] is None
            model = f"/api/v2/models/{test_chat.id}"
            refused = await api.put(model, json={"default_params": {"frequency_penalty": 1}})
            assert refused.status_code == 422 and "frequency_penalty" in refused.text

            # The deployment's custom_params override the model's default_params.
            stored = await api.put(deployment, json={"custom_params": {"max_tokens": 300}})
            assert stored.status_code == 200, stored.text
            assert stored.json()["custom_params"] == {"max_tokens": 300}

        overridden = client.chat.completions.create(model=MODEL, messages=PROMPT)
        assert overridden.choices[0].finish_reason == "stop"
        assert "harbour juniper lantern meadow" in (overridden.choices[0].message.content or "")
        # And the request's own value still wins over the deployment's.
        again = client.chat.completions.create(model=MODEL, messages=PROMPT, max_tokens=1)
        assert again.choices[0].finish_reason == "length"


def test_each_key_is_filled_only_where_the_request_left_it_unset() -> None:
    from myia.db.enums import AuthType
    from myia.providers.types import ChatMessage, ChatRequest
    from myia.routing.fallback import request_for
    from myia.routing.params import merge_params
    from myia.routing.types import ProviderRef, Route

    params = merge_params(
        {"temperature": 0.2, "top_p": 0.5, "max_tokens": 10, "stop": "END"},
        {"temperature": 1.5, "stop": ["STOP", "HALT"], "unknown": 1},  # an old row's extra
    )
    assert dict(params) == {
        "temperature": 1.5, "top_p": 0.5, "max_tokens": 10, "stop": ["STOP", "HALT"]
    }  # fmt: skip
    provider = ProviderRef("p", "p", AuthType.API_KEY, None)
    route = Route(deployment="d", deployment_row_id="r", model="m", provider=provider,
                  region="global", price_in=None, price_out=None, certification=None,
                  certified=True, params=params)  # fmt: skip
    message = [ChatMessage.user("hi")]
    bare = request_for(route, ChatRequest(model="m", messages=message))
    assert (bare.temperature, bare.top_p, bare.max_tokens, bare.stop) == (
        1.5, 0.5, 10, ["STOP", "HALT"]
    )  # fmt: skip
    own = ChatRequest(model="m", messages=message, temperature=0.0, top_p=1.0, max_tokens=99,
                      stop=["mine"])  # fmt: skip
    kept = request_for(route, own)
    # 0.0 is a value of the request's own, not an absence.
    assert (kept.temperature, kept.top_p, kept.max_tokens, kept.stop) == (0.0, 1.0, 99, ["mine"])
    # A route without params leaves the request as it was.
    plain = Route(deployment="d", deployment_row_id="r", model="m", provider=provider,
                  region="global", price_in=None, price_out=None, certification=None,
                  certified=True)  # fmt: skip
    assert request_for(plain, ChatRequest(model="m", messages=message)).max_tokens is None
