"""Catalog editing in the browser (issue 27, point 4): an admin creates a base model and a
deployment, edits its price with a source, and sees the change in the catalog API and on
/models, where the model's price page shows the price history.

A server of its own (the app under uvicorn on a seeded database, both backends) rather than
the folder's shared demo: the test adds to the catalog, which the other browser tests read.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from myia.db.engine import Database
from myia.maintenance.seed import seed_database
from tests.e2e.conftest import (
    ADMIN,
    CHROMIUM,
    CHROMIUM_ARGS,
    log_in,
    need_chromium,
    open_context,
    shoot,
)
from tests.sim_support import AppServer

MODEL = "Acme Browser Model"
DEPLOYMENT = "acme/browser-model-v1"


async def _seed(db_url: str) -> None:
    database = Database(db_url)
    try:
        async with database.session() as session:
            await seed_database(session=session, demo=True)
    finally:
        await database.dispose()


@pytest.fixture
def server(db_url: str) -> Iterator[AppServer]:
    asyncio.run(_seed(db_url))
    with AppServer(db_url) as running:
        yield running


@pytest.fixture
def own_browser(server: AppServer) -> Iterator[Browser]:
    """Started after the database (not the folder's module-wide browser): Playwright's sync
    API runs an event loop in this thread, and preparing a PostgreSQL database needs it free."""
    need_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def admin_page(own_browser: Browser, server: AppServer) -> Iterator[Page]:
    context, page, watch = open_context(own_browser, server.url)
    try:
        log_in(page, server.url, *ADMIN)
        yield page
        watch.check()
    finally:
        context.close()


def _saved(page: Page, kind: str) -> str:
    """The id in the edit page's address the form redirected to."""
    page.wait_for_url(
        re.compile(rf"/admin/catalog/{kind}/[0-9a-f-]{{36}}/edit\?saved=1(#prices)?$")
    )
    expect(page.get_by_role("status")).to_have_text("Saved.")
    return page.url.split("/")[-2]


def test_an_admin_creates_a_model_and_a_deployment_and_reprices_it(
    admin_page: Page, server: AppServer
) -> None:
    page, url = admin_page, server.url
    page.goto(url + "/admin/catalog")
    page.get_by_role("link", name="Base models: create, edit, delete").click()
    page.get_by_role("link", name="New base model").click()

    # A refused form first: the error sits next to its field, nothing is created.
    page.get_by_label("Name", exact=True).fill(MODEL)
    page.get_by_label("Vendor", exact=True).fill("Acme")
    page.get_by_label("Max context window (tokens)").fill("a lot")
    page.get_by_role("button", name="Create base model").click()
    expect(page.locator("#f-max_context_window-error")).to_contain_text("valid integer")
    expect(page.locator("#f-max_context_window")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Max context window (tokens)").fill("128000")
    page.get_by_label("Tool calling").check()
    page.get_by_label("Vision").check()
    page.get_by_label("Default call parameters (JSON object)").fill('{"temperature": 0.2}')
    page.get_by_role("button", name="Create base model").click()
    model_id = _saved(page, "models")

    page.get_by_role("link", name="Add a deployment").click()
    expect(page.get_by_label("Base model", exact=True)).to_have_value(model_id)
    page.get_by_label("Provider", exact=True).select_option(label="Together AI (together)")
    page.get_by_label("Provider's model id", exact=True).fill(DEPLOYMENT)
    page.get_by_label("Input $/1M", exact=True).fill("0.8")
    page.get_by_label("Output $/1M", exact=True).fill("2.4")
    page.get_by_label("Vision", exact=True).select_option("no")
    page.get_by_label("Provider settings (provider_config, JSON object)").fill(
        '{"regions": ["us-east-1"]}'
    )
    page.get_by_role("button", name="Create deployment").click()
    deployment_id = _saved(page, "deployments")

    # A new price with its source.
    page.get_by_label("Input $/1M", exact=True).fill("0.95")
    page.get_by_label("Source name", exact=True).fill("Acme price page")
    page.get_by_label("Source URL", exact=True).fill("https://acme.example/pricing")
    page.get_by_label("As of", exact=True).fill("2026-12-01")
    page.get_by_role("button", name="Save").click()
    _saved(page, "deployments")
    expect(page.get_by_label("Input $/1M", exact=True)).to_have_value("0.95")
    shoot(page, "admin-catalog-deployment")

    # The catalog API sees it at once (its cache was cleared by the write).
    token = httpx.post(
        url + "/api/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]}, timeout=10
    ).json()["access_token"]
    api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    with api:
        shown = api.get(f"/api/v2/deployments/{deployment_id}").json()
        assert (shown["cost_per_1m_input"], shown["cost_per_1m_output"]) == (0.95, 2.4)
        assert shown["price_source_name"] == "Acme price page"
        assert shown["price_source_url"] == "https://acme.example/pricing"
        assert shown["price_as_of"] == "2026-12-01"
        assert shown["effective_capabilities"]["vision"] is False
        assert shown["effective_capabilities"]["tool_calling"] is True
        model = api.get(f"/api/v2/models/{model_id}").json()
        assert model["name"] == MODEL and model["capabilities"]["max_context_window"] == 128000

    # On /models: the deployment is listed, and its model's price page shows the history.
    page.goto(url + "/models?vendor=Acme")
    expect(page.locator("tr", has_text=DEPLOYMENT)).to_have_count(1)
    page.goto(f"{url}/models/{model_id}/prices")
    row = page.locator(f"#p-{deployment_id}")
    expect(row).to_contain_text("$0.95")
    expect(row.get_by_role("link", name="Acme price page")).to_have_attribute(
        "href", "https://acme.example/pricing"
    )
    changes = page.get_by_role("table", name="Price history").locator("tbody tr")
    expect(changes).to_have_count(2)
    expect(changes.first).to_contain_text("Acme price page")
    expect(changes.first).to_contain_text("admin")
    expect(changes.first).to_contain_text(ADMIN[0])
    shoot(page, "model-price-history")

    # A price in one geography, with its source, from the deployment's page.
    page.goto(f"{url}/admin/catalog/deployments/{deployment_id}/edit")
    regional = page.get_by_role("form", name="Set a regional price")
    regional.get_by_label("Region or geography").fill("eu")
    regional.get_by_label("Input $/1M there").fill("1.05")
    regional.get_by_label("Output $/1M there").fill("2.6")
    regional.get_by_label("Its source name").fill("Acme EU price page")
    regional.get_by_role("button", name="Set the regional price").click()
    _saved(page, "deployments")
    expect(page.get_by_role("table", name="Regional prices")).to_contain_text("Acme EU price page")
    page.goto(f"{url}/models/{model_id}/prices")
    expect(page.locator(f"#p-{deployment_id}")).to_contain_text("eu $1.05 · $2.6")
    expect(page.get_by_role("table", name="Price history").locator("tbody tr")).to_have_count(3)
