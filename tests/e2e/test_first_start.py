"""The first minute of `make run`: while the demo's first certification runs, /chat says how
far it is and keeps the figures current by itself, /models shows the same progress, and the
chat box appears without a reload once a model has passed.

A demo of its own (not the folder's shared one, whose first job may be long done): the demo
scenario with every simulated call slowed to 1 s and one queue worker, so the job is
observably in progress when the browser arrives.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import Browser, expect

from myia.maintenance.demo_sim import scenario_path
from tests.e2e.conftest import USER, Demo, log_in, need_chromium, open_context, run_demo, shoot

SLOW_MS = 1000
FIRST_PASS_TIMEOUT_MS = 300_000


def _without_own_timing(node: Any) -> None:
    """Drop every provider's and model's own latency, so the scenario's defaults hold."""
    if isinstance(node, dict):
        node.pop("latency", None)
        node.pop("time_to_first_token", None)
        for value in node.values():
            _without_own_timing(value)
    elif isinstance(node, list):
        for value in node:
            _without_own_timing(value)


def slow_demo_scenario(directory: Path) -> Path:
    data = yaml.safe_load(scenario_path().read_text(encoding="utf-8"))
    _without_own_timing(data)
    data["name"] = "demo-slow"
    data["defaults"]["latency"] = {"kind": "fixed", "ms": SLOW_MS}
    data["defaults"]["time_to_first_token"] = {"kind": "fixed", "ms": SLOW_MS}
    path = directory / "demo-slow.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def slow_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    need_chromium()
    workdir = tmp_path_factory.mktemp("first-start")
    scenario = slow_demo_scenario(workdir)
    with run_demo(
        workdir, "--scenario", str(scenario), env_extra={"QUEUE_CONCURRENCY": "1"}
    ) as running:
        yield running


def test_chat_follows_the_first_certification_then_offers_the_chat_box(
    browser: Browser, slow_demo: Demo
) -> None:
    url = slow_demo.url
    context, page, watch = open_context(browser, url)
    try:
        log_in(page, url, *USER)  # lands on /chat
        notice = page.locator("#readiness")
        expect(notice).to_contain_text("Models are being certified")
        expect(notice).to_contain_text(re.compile(r"\d+ of \d+ checked"))
        total = int(notice.locator("[data-field=total]").inner_text())
        assert total > 10  # the demo catalog, not a handful
        expect(notice).not_to_contain_text("administrator")

        page.get_by_role("button", name="New chat").click()
        page.wait_for_url(re.compile(r"/chat/[0-9a-f-]{36}$"))
        composer = page.locator("#composer")
        if page.locator("#readiness").count():  # still certifying: no box to type in yet
            expect(composer).to_be_hidden()
            first = page.locator("#readiness [data-field=processed]").inner_text()
        else:
            pytest.fail("a model passed before the chat opened: the scenario is not slow enough")
        page.evaluate("window.__samePage = true")
        shoot(page, "first-start-chat", focus=page.locator("#readiness"))

        # The models matrix says the same, in a tab of its own (the job runs for minutes).
        models = context.new_page()
        models.goto(url + "/models")
        expect(models.locator("#readiness")).to_contain_text("Models are being certified")
        expect(models.locator("#readiness [data-field=total]")).to_have_text(str(total))
        models.close()

        # The figures move by themselves, then the box appears once a model has passed.
        page.wait_for_function(
            """(first) => {
                const slot = document.querySelector('#readiness [data-field=processed]');
                const box = document.getElementById('composer');
                return (slot && slot.textContent !== first) || (box && !box.hidden);
            }""",
            arg=first,
            timeout=FIRST_PASS_TIMEOUT_MS,
        )
        expect(composer).to_be_visible(timeout=FIRST_PASS_TIMEOUT_MS)
        assert page.evaluate("window.__samePage") is True  # swapped in, not reloaded
        expect(page.locator("#readiness")).to_have_count(0)
        options = page.locator("#f-model option:not([value=''])")
        assert options.count() >= 1
        box = page.get_by_label("Message")
        box.fill("Hello, first model.")
        box.press("Enter")  # the swapped-in box works: its script is bound
        answer = page.locator("article.msg-assistant").last
        expect(answer.locator(".telemetry")).to_contain_text("out tokens", timeout=60_000)
        shoot(page, "first-start-ready")
        watch.check()
    finally:
        context.close()
