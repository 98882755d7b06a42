"""`max_tokens` against a deployment's maximum output (issue 24, point 2): a route that cannot
give it is passed over; when none can, 400 in OpenAI's words naming the field, before any
provider call — streamed or not, `max_tokens` or `max_completion_tokens`."""

from __future__ import annotations

import openai
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.models import BaseModel
from myia.sim import SimServer
from tests.gateway.conftest import MODEL, make_world
from tests.sim_support import AppServer

PROMPT = [{"role": "user", "content": "Reply with exactly: harbour juniper"}]


async def test_over_the_maximum_output_is_a_400_naming_the_field(
    session: AsyncSession, db_url: str, fresh_sim: SimServer
) -> None:
    world = await make_world(session, fresh_sim)
    base = await session.get(BaseModel, world.deployments["cheapco"].base_model_id)
    assert base is not None
    base.capabilities = {**(base.capabilities or {}), "max_output_tokens": 100}
    # One deployment of the model gives more than its model's default maximum.
    world.deployments["dearco"].capabilities = {"max_output_tokens": 500}
    session.add(world.deployments["dearco"])
    await session.commit()

    with AppServer(db_url) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=world.key, max_retries=0)
        within = client.chat.completions.with_raw_response.create(
            model=MODEL, messages=PROMPT, max_tokens=100
        )
        assert within.headers["x-myia-provider"] == "notoolco"  # the cheapest still
        # 300: only dearco can give it; the cheaper routes are passed over, not cut short.
        wider = client.chat.completions.with_raw_response.create(
            model=MODEL, messages=PROMPT, max_tokens=300
        )
        assert wider.headers["x-myia-provider"] == "dearco"
        calls_before = fresh_sim.stats

        for param, stream in (
            ("max_tokens", False),
            ("max_tokens", True),
            ("max_completion_tokens", False),
        ):
            with pytest.raises(openai.BadRequestError) as refused:
                client.chat.completions.create(
                    model=MODEL,
                    messages=PROMPT,  # type: ignore[arg-type]
                    stream=stream,
                    **{param: 1000},  # type: ignore[arg-type]
                )
            error = refused.value
            assert error.status_code == 400
            assert error.param == param and error.code == "invalid_value"
            assert error.body is not None
            assert (
                f"{param} is too large: 1000. This model supports at most 500 completion tokens"
                in error.message
            )
        # Refused before any provider call.
        assert fresh_sim.stats == calls_before
