"""The chat's day-to-day in the browser, on the shared demo: rename and delete a chat, a chat of
450 messages opening on its newest with "load earlier" (with and without script), what was
sent to the model under each answer, and a model disabled in Settings leaving the picker and
/v1/models for that user only."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from myia.db.models import User
from myia.maintenance.connection import open_database
from tests.e2e.conftest import ADMIN, USER, Demo, log_in, open_context, shoot
from tests.factories import make_chat_history

CERTIFIED_MODEL_TIMEOUT_S = 180.0
T = TypeVar("T")


def _run(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run async database work from a sync test: Playwright's sync API holds this thread's
    event loop, so the work gets a thread (and a loop) of its own."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(work())).result()


def _user_id(demo: Demo, email: str) -> str:
    async def find() -> str:
        database = open_database(demo.database_url)
        try:
            async with database.session() as session:
                user = await session.scalar(select(User).where(User.email == email))
                assert user is not None
                return str(user.id)
        finally:
            await database.dispose()

    return _run(find)


def _long_chat(demo: Demo, messages: int) -> str:
    """A chat of the demo user's, stored directly (no model is called 450 times)."""
    user_id = _user_id(demo, USER[0])

    async def store() -> str:
        database = open_database(demo.database_url)
        try:
            async with database.session() as session:
                return await make_chat_history(
                    session, user_id=user_id, messages=messages, title="A long chat"
                )
        finally:
            await database.dispose()

    return _run(store)


def _bearer(app_url: str, email: str, password: str) -> dict[str, str]:
    answer = httpx.post(
        f"{app_url}/api/auth/login", json={"email": email, "password": password}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _api_key(app_url: str, bearer: dict[str, str]) -> dict[str, str]:
    created = httpx.post(
        f"{app_url}/api/v2/api-keys", json={"name": "e2e models"}, headers=bearer, timeout=30
    )
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['key']}"}


def _v1_models(app_url: str, key: dict[str, str]) -> set[str]:
    answer = httpx.get(f"{app_url}/v1/models", headers=key, timeout=30)
    assert answer.status_code == 200, answer.text
    return {item["id"] for item in answer.json()["data"]}


def _wait_for_models(page: Page, at_least: int) -> None:
    """The first-start certification certifies models as the tests run: wait for some."""
    options = page.locator("#f-model option:not([value=''])")
    deadline = time.monotonic() + CERTIFIED_MODEL_TIMEOUT_S
    while options.count() < at_least:
        assert time.monotonic() < deadline, "no certified model in time"
        page.wait_for_timeout(2000)
        page.reload()


def test_rename_and_delete_a_chat(page: Page, app_url: str) -> None:
    log_in(page, app_url, *USER)
    page.get_by_role("button", name="New chat").click()
    page.wait_for_url(re.compile(r"/chat/[0-9a-f-]{36}$"))
    chat_url = page.url

    page.get_by_text("Rename or delete").click()
    title = page.get_by_label("Title")
    title.fill("   ")
    page.get_by_role("button", name="Rename").click()
    expect(page.locator("#f-title-error")).to_have_text("Must not be blank")
    expect(page.get_by_label("Title")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Title").fill("Holiday <plans> in Porto")
    page.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Holiday <plans> in Porto")
    listed = page.locator(".chat-list a", has_text="Holiday <plans> in Porto")
    expect(listed).to_have_attribute("aria-current", "page")
    shoot(page, "chat-renamed")

    page.get_by_text("Rename or delete").click()
    # Declining the confirmation keeps the chat.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Delete chat").click()
    expect(page).to_have_url(chat_url)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete chat").click()
    page.wait_for_url(re.compile(r"/chat$"))
    expect(page.locator(".chat-list a", has_text="Holiday <plans> in Porto")).to_have_count(0)
    page.goto(chat_url)
    expect(page).to_have_url(re.compile(r"/chat$"))


def test_a_long_chat_opens_on_its_newest_messages_and_loads_earlier(page: Page, demo: Demo) -> None:
    chat_id = _long_chat(demo, 450)
    log_in(page, demo.url, *USER)
    page.goto(f"{demo.url}/chat/{chat_id}")
    messages = page.locator("#messages article.msg")
    expect(messages).to_have_count(50)
    expect(messages.last).to_have_text(re.compile(r"message 449"))
    expect(messages.first).to_have_text(re.compile(r"message 400"))
    expect(messages.last).to_be_in_viewport()
    shoot(page, "chat-long")

    page.evaluate("window.__samePage = true")
    anchor = page.locator("article.msg p").filter(has_text=re.compile(r"^message 400$"))
    earlier = page.get_by_role("link", name="Load earlier messages")
    earlier.scroll_into_view_if_needed()
    before = anchor.bounding_box()
    earlier.click()
    expect(messages).to_have_count(100)
    expect(messages.first).to_have_text(re.compile(r"message 350"))
    after = anchor.bounding_box()
    assert before is not None and after is not None
    assert abs(after["y"] - before["y"]) < 2, (before, after)  # the reader's place is kept

    for shown in range(150, 451, 50):
        page.get_by_role("link", name="Load earlier messages").click()
        expect(messages).to_have_count(min(shown, 450))
    expect(page.get_by_role("link", name="Load earlier messages")).to_have_count(0)
    texts = [t.split("\n")[0].strip() for t in messages.all_inner_texts()]
    assert texts == [f"message {n}" for n in range(450)]
    assert page.evaluate("window.__samePage") is True


def test_load_earlier_works_without_script(browser: Browser, demo: Demo) -> None:
    chat_id = _long_chat(demo, 120)
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        log_in(page, demo.url, *USER)
        page.goto(f"{demo.url}/chat/{chat_id}")
        messages = page.locator("#messages article.msg")
        expect(messages.first).to_have_text(re.compile(r"message 70"))
        page.get_by_role("link", name="Load earlier messages").click()
        expect(page).to_have_url(re.compile(r"\?before="))
        expect(messages.first).to_have_text(re.compile(r"message 20"))
        expect(messages.last).to_have_text(re.compile(r"message 69"))
        page.get_by_role("link", name="Load earlier messages").click()
        expect(messages).to_have_count(20)
        expect(page.get_by_role("link", name="Load earlier messages")).to_have_count(0)
        page.get_by_role("link", name="Back to the newest messages").click()
        expect(messages.last).to_have_text(re.compile(r"message 119"))
    finally:
        context.close()


def test_each_answer_shows_what_was_sent_to_the_model(page: Page, app_url: str) -> None:
    log_in(page, app_url, *USER)
    page.get_by_role("button", name="New chat").click()
    page.wait_for_url(re.compile(r"/chat/[0-9a-f-]{36}$"))
    _wait_for_models(page, 1)
    box = page.get_by_label("Message")
    box.fill("Remember <b>this</b> & that.")
    box.press("Enter")
    answer = page.locator("article.msg-assistant").last
    expect(answer.locator(".telemetry")).to_contain_text("out tokens", timeout=30_000)
    for _ in range(2):  # as streamed in, then as stored
        sent = answer.locator("details.sent-context")
        expect(sent.locator("pre")).not_to_be_visible()
        sent.locator("summary").click()
        pre = sent.locator("pre")
        expect(pre).to_be_visible()
        expect(pre).to_contain_text('"content": "Remember <b>this</b> & that."')
        expect(pre).to_contain_text('"truncation"')
        assert pre.locator("b").count() == 0  # text, not markup
        shoot(page, "chat-sent-context", focus=sent)
        page.reload()
        answer = page.locator("article.msg-assistant").last


@pytest.fixture
def leo_bearer(app_url: str) -> Iterator[dict[str, str]]:
    bearer = _bearer(app_url, *USER)
    yield bearer
    # Every model again for the demo user, whatever the test did.
    httpx.put(
        f"{app_url}/api/user/settings", json={"enabled_models": []}, headers=bearer, timeout=30
    )


def test_a_model_disabled_in_settings_leaves_the_picker_and_v1_for_that_user_only(
    page: Page, browser: Browser, app_url: str, leo_bearer: dict[str, str]
) -> None:
    log_in(page, app_url, *USER)
    page.get_by_role("button", name="New chat").click()
    page.wait_for_url(re.compile(r"/chat/[0-9a-f-]{36}$"))
    chat_url = page.url
    _wait_for_models(page, 2)
    model_id = page.locator("#f-model option").first.get_attribute("value")
    assert model_id

    leo_key = _api_key(app_url, leo_bearer)
    admin_key = _api_key(app_url, _bearer(app_url, *ADMIN))
    assert model_id in _v1_models(app_url, leo_key)

    page.goto(app_url + "/settings")
    page.locator(f"input[name=enabled][data-model='{model_id}']").uncheck()
    page.get_by_role("button", name="Save models").click()
    expect(page.get_by_text("Models saved.")).to_be_visible()
    shoot(page, "settings-models")

    page.goto(chat_url)
    values = page.locator("#f-model option").evaluate_all("(os) => os.map((o) => o.value)")
    assert model_id not in values and values
    assert model_id not in _v1_models(app_url, leo_key)
    assert model_id in _v1_models(app_url, admin_key)  # another user still has it
    refused = httpx.post(
        f"{app_url}/v1/chat/completions",
        json={"model": model_id, "messages": [{"role": "user", "content": "hi"}]},
        headers=leo_key,
        timeout=30,
    )
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "model_not_found"

    # The admin's own picker still offers it.
    context, admin_page, watch = open_context(browser, app_url)
    try:
        log_in(admin_page, app_url, *ADMIN)
        admin_page.get_by_role("button", name="New chat").click()
        admin_page.wait_for_url(re.compile(r"/chat/[0-9a-f-]{36}$"))
        expect(admin_page.locator(f"#f-model option[value='{model_id}']")).to_have_count(1)
        watch.check()
    finally:
        context.close()
