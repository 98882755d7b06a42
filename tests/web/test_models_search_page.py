"""The search form of /models (issue 27): the constraints sent to /models/search, ranked
results with their certification and price source, a bad field marked and nothing searched,
htmx getting the section alone. Page handler tests without a browser, on both databases."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.enums import PriceSourceKind
from tests.factories import (
    capabilities,
    make_base_model,
    make_certification,
    make_deployment,
    make_provider,
)

ISSUE_FORM: list[tuple[str, str]] = [
    ("searched", "1"), ("capability", "tool_calling"), ("capability", "vision"),
    ("geography", "eu"), ("min_context", "100000"), ("max_input_price", "3"),
    ("min_badge", "RECOMMENDED"), ("certified", "true"),
]  # fmt: skip
PAGE = "https://example.com/prices"


async def _catalog(session: AsyncSession) -> None:
    cloud = await make_provider(session, slug="eucloud", name="EU Cloud")
    seeing = {**capabilities(vision=True, tool_calling=True), "max_context_window": 128_000}
    model = await make_base_model(session, name="Seer", vendor="Acme", capabilities=seeing)

    async def deployment(name: str, price: float | None, **kw: Any) -> Any:
        return await make_deployment(
            session, base_model=model, provider=cloud, deployment_id=name,
            cost_per_1m_input=price, cost_per_1m_output=None if price is None else 2 * price,
            price_source_kind=PriceSourceKind.BUNDLED if price else None,
            price_source_name="Example price page" if price else None,
            price_source_url=PAGE if price else None,
            price_as_of=date(2026, 11, 30) if price else None, **kw,
        )  # fmt: skip

    cheap = await deployment("seer-cheap", 1.0)
    dear = await deployment("seer-dear", 2.0)
    pricey = await deployment("seer-pricey", 9.0)
    never = await deployment("seer-never", 0.5)
    await make_certification(session, deployment=cheap, region="eu-west-1", badge="PREMIUM")
    await make_certification(session, deployment=dear, region="eu-central-1")
    await make_certification(session, deployment=pricey, region="eu-west-1")
    await make_certification(session, deployment=cheap, region="us-east-1")
    assert never.id


def _rows(html: str) -> list[str]:
    return re.findall(r"<code>([^<]+)</code>", html.split('id="search"', 1)[1])


async def test_models_page_has_the_search_form(user_client: httpx.AsyncClient) -> None:
    page = await user_client.get("/models")
    assert page.status_code == 200
    section = page.text.split('<section id="search"', 1)[1].split("</section>", 1)[0]
    assert 'action="/models/search"' in section and 'hx-get="/models/search"' in section
    for name in ("capability", "geography", "min_context", "max_input_price", "min_badge",
                 "input_tokens", "output_tokens", "certified"):  # fmt: skip
        assert f'name="{name}"' in section, name
    assert "<table" not in section  # nothing searched yet


async def test_search_page_ranks_the_results(
    user_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _catalog(session)
    page = await user_client.get("/models/search", params=ISSUE_FORM)
    assert page.status_code == 200
    assert "<html" in page.text  # without script: the whole page, the form filled in
    assert _rows(page.text) == ["seer-cheap", "seer-dear"]
    assert "1–2 of <strong>2</strong>" in page.text
    assert 'value="vision" checked' in page.text and 'value="100000"' in page.text
    assert f'<a href="{PAGE}" rel="noopener noreferrer">Example price page</a>' in page.text
    assert "as of 2026-11-30" in page.text and "badge-premium" in page.text
    assert "eu-west-1" in page.text and "us-east-1" not in page.text

    # htmx: the section alone, swapped into /models.
    partial = await user_client.get(
        "/models/search", params=ISSUE_FORM, headers={"HX-Request": "true"}
    )
    assert partial.text.lstrip().startswith('<section id="search"')
    assert "<html" not in partial.text and _rows(partial.text) == ["seer-cheap", "seer-dear"]

    # Unticked "certified only": the deployment never certified shows, without a region.
    everything = [(k, v) for k, v in ISSUE_FORM if k not in ("certified", "geography",
                                                              "min_badge")]  # fmt: skip
    found = await user_client.get("/models/search", params=everything)
    assert _rows(found.text) == ["seer-never", "seer-cheap", "seer-cheap", "seer-dear"]

    # Pages: a link to the next one keeps the constraints.
    first = await user_client.get("/models/search", params=[*ISSUE_FORM, ("page", "1")])
    assert "Next" not in first.text
    one_by_one = [*ISSUE_FORM, ("input_tokens", "5000")]
    paged = await user_client.get("/models/search", params=[*one_by_one, ("page", "2")])
    assert _rows(paged.text) == []  # 2 results fit on page 1 of 20
    assert "None of 2" in paged.text and 'href="/models/search?' in paged.text


async def test_bad_fields_are_marked_and_nothing_is_searched(
    user_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _catalog(session)
    bad = [("searched", "1"), ("geography", "mars"), ("max_input_price", "cheap"),
           ("min_context", "-5"), ("capability", "telepathy")]  # fmt: skip
    page = await user_client.get("/models/search", params=bad)
    assert page.status_code == 200
    for field in ("geography", "max_input_price", "min_context", "capability"):
        assert f'id="f-s-{field}-error"' in page.text, field
    assert 'value="cheap"' in page.text  # shown back as typed
    assert "<table" not in page.text.split('id="search"', 1)[1]
    assert "Fix the fields marked above." in page.text

    # Too long or too many: refused by name, never cut short and searched anyway.
    long = [("searched", "1"), ("vendor", "v" * 150), *[("capability", "vision")] * 17]
    page = await user_client.get("/models/search", params=long)
    for field in ("vendor", "capability"):
        assert f'id="f-s-{field}-error"' in page.text, field


async def test_search_page_needs_a_signed_in_user(client: httpx.AsyncClient) -> None:
    response = await client.get("/models/search", params=ISSUE_FORM)
    assert response.status_code in (302, 303) and "/login" in response.headers["location"]
