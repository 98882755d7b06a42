"""What a user sees in the browser: log in, chat with a streamed answer and its cost, the
models page, settings; refused on admin pages; errors next to fields; CSRF enforced."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import USER, log_in, open_context, shoot

ADMIN_PAGES = [
    "/admin/certifications",
    "/admin/stats",
    "/admin/jobs",
    "/admin/catalog",
    "/admin/discovery",
    "/admin/queue",
    "/admin/health",
]
CERTIFIED_MODEL_TIMEOUT_S = 180.0


def test_login_shows_a_wrong_password_next_to_the_field(page: Page, app_url: str) -> None:
    page.goto(app_url + "/")
    expect(page).to_have_url(re.compile(r"/login$"))
    shoot(page, "login")
    page.get_by_label("Email").fill(USER[0])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#f-password-error")).to_have_text("Wrong email or password.")
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    shoot(page, "login-error")


def test_the_demo_user_chats_and_sees_the_answer_stream_in_with_its_cost(
    page: Page, app_url: str
) -> None:
    log_in(page, app_url, *USER)
    page.get_by_role("button", name="New chat").click()
    page.wait_for_url(re.compile(r"/chat/[0-9a-f-]{36}$"))
    # The first-start certification job is what makes models available to chat.
    deadline = time.monotonic() + CERTIFIED_MODEL_TIMEOUT_S
    priced = page.locator("#f-model option", has_text="per 1M")
    while not priced.count() and time.monotonic() < deadline:
        page.wait_for_timeout(2000)
        page.reload()
    picked = page.locator("#f-model option:checked").inner_text()
    assert "Premium" in picked or "Recommended" in picked or "Functional" in picked, picked
    assert "per 1M" in picked  # a priced model is the default, so the cost can be shown
    page.evaluate("window.__samePage = true")
    box = page.get_by_label("Message")
    box.fill("Say hello to the demo.")
    box.press("Enter")
    answer = page.locator("article.msg-assistant").last
    expect(answer.locator(".telemetry")).to_contain_text("$", timeout=30_000)
    expect(answer.locator(".telemetry")).to_contain_text("out tokens")
    expect(answer.locator(".telemetry")).to_contain_text(" ms")
    assert answer.locator("p").inner_text().strip()
    assert page.evaluate("window.__samePage") is True  # streamed into the page, no reload
    shoot(page, "chat")
    page.reload()  # stored with its telemetry
    expect(page.locator("article.msg-assistant").last.locator(".telemetry")).to_contain_text("$")


def test_models_page_filters_and_compares_prices(page: Page, app_url: str) -> None:
    log_in(page, app_url, *USER)
    page.goto(app_url + "/models")
    expect(page.get_by_role("heading", name="Models")).to_be_visible()
    shoot(page, "models")
    # Three forms on the page (filter, compare, find by constraints) share field names.
    filters = page.get_by_role("form", name="Filter models")
    compare = page.get_by_role("form", name="Compare prices")
    vendors = page.locator("#f-vendor option").all_inner_texts()
    filters.get_by_label("Vendor").select_option(next(v for v in vendors if v.lower() == "openai"))
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(".matrix tbody tr").first).to_contain_text(re.compile("openai", re.I))
    page.locator("#f-model").select_option(label="GPT-4 Turbo")
    compare.get_by_label("Input tokens").fill("lots")
    page.get_by_role("button", name="Compare").click()
    expect(page.locator("#f-input_tokens-error")).to_be_visible()
    compare.get_by_label("Input tokens").fill("2000000")
    compare.get_by_label("Output tokens").fill("0")
    page.get_by_role("button", name="Compare").click()
    expect(page.locator("#prices table")).to_contain_text("$20")
    shoot(page, "models-prices")


def test_settings_validate_a_credential_and_save_the_theme(page: Page, app_url: str) -> None:
    log_in(page, app_url, *USER)
    page.goto(app_url + "/settings")
    row = page.locator("tr", has_text="openai · api_key")
    row.get_by_role("button", name="Validate").click()
    expect(row.locator(".validation")).to_contain_text("valid", timeout=20_000)
    page.get_by_label("Theme").select_option("dark")
    page.get_by_role("button", name="Save preferences").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    shoot(page, "settings-dark")
    page.goto(app_url + "/models")
    shoot(page, "models-dark")
    page.goto(app_url + "/settings")
    page.get_by_label("Theme").select_option("light")
    page.get_by_role("button", name="Save preferences").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    shoot(page, "settings")


def test_a_plain_user_never_sees_an_admin_link_and_is_refused(page: Page, app_url: str) -> None:
    log_in(page, app_url, *USER)
    assert page.locator('a[href^="/admin/"]').count() == 0
    for path in ADMIN_PAGES:
        response = page.goto(app_url + path)
        assert response is not None and response.status == 403, path
        expect(page.get_by_role("heading", name="403 — not allowed")).to_be_visible()
        assert page.locator('a[href^="/admin/"]').count() == 0
    shoot(page, "forbidden")


def test_signed_out_admin_urls_send_to_login(browser: Browser, app_url: str) -> None:
    context, page, watch = open_context(browser, app_url)
    try:
        page.goto(app_url + "/admin/jobs")
        expect(page).to_have_url(re.compile(r"/login\?next=%2Fadmin%2Fjobs$"))
        watch.check()
    finally:
        context.close()


def test_a_form_posted_without_its_csrf_token_is_refused(page: Page, app_url: str) -> None:
    log_in(page, app_url, *USER)
    page.goto(app_url + "/settings")
    form = page.locator('form[action="/settings/preferences"]')
    form.locator('input[name="csrf_token"]').evaluate("input => input.remove()")
    page.get_by_label("Theme").select_option("dark")
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_role("heading", name="403 — not allowed")).to_be_visible()
    expect(page.locator("main")).to_contain_text("security token")
    # Nor does a post from outside a page (cookies, no token) get through.
    refused = page.request.post(app_url + "/settings/preferences", form={"theme": "dark"})
    assert refused.status == 403
    page.goto(app_url + "/settings")
    expect(page.locator("html")).not_to_have_attribute("data-theme", "dark")
