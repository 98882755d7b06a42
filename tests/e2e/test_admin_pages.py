"""What an admin sees in the browser: start a certification job, watch its progress update in
place until it finishes, find the new badge on /models; every admin page renders."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import ADMIN, log_in, shoot

JOB_TIMEOUT_MS = 240_000
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


def _start_job(page: Page, app_url: str, models: str, region: str | None) -> None:
    page.goto(app_url + "/admin/jobs")
    page.get_by_label("Models", exact=True).check()
    page.get_by_label("Models (names or ids, comma-separated)").fill(models)
    if region:
        page.get_by_label(region, exact=True).check()
    page.get_by_role("button", name="Start job").click()


def test_a_job_with_bad_input_shows_the_error_next_to_the_field(page: Page, app_url: str) -> None:
    log_in(page, app_url, *ADMIN)
    _start_job(page, app_url, "no-such-model", None)
    error = page.locator("#f-models-error")
    expect(error).to_contain_text("no-such-model")
    expect(page.locator("#f-models")).to_have_attribute("aria-invalid", "true")
    shoot(page, "admin-jobs-error")


def test_the_admin_certifies_a_model_and_sees_the_new_badge(page: Page, app_url: str) -> None:
    log_in(page, app_url, *ADMIN)
    page.goto(app_url + "/models?region=eu-west-1&vendor=Anthropic")
    haiku = page.locator("tr", has_text=HAIKU)
    expect(haiku.locator(".badge:not(.badge-none)")).to_have_count(0)

    _start_job(page, app_url, HAIKU, "eu-west-1")
    page.wait_for_url(re.compile(r"/admin/jobs/[0-9a-f-]{36}$"))
    page.evaluate("window.__samePage = true")
    status = page.get_by_test_id("job-status")
    seen = {status.inner_text()}
    expect(status).to_have_text("COMPLETED", timeout=JOB_TIMEOUT_MS)
    seen.add(status.inner_text())
    assert seen >= {"COMPLETED"} and len(seen) >= 2, seen  # it changed while we watched
    expect(page.get_by_test_id("job-processed")).to_have_text("1 / 1")
    assert page.evaluate("window.__samePage") is True  # htmx polling, not a reload
    expect(page.locator("#job-progress")).not_to_have_attribute("hx-trigger", "every 1s")
    shoot(page, "admin-job-detail")

    page.goto(app_url + "/models?region=eu-west-1&vendor=Anthropic")
    badge = page.locator("tr", has_text=HAIKU).locator(".badge:not(.badge-none)")
    expect(badge).to_have_count(1)
    assert "eu-west-1" in (badge.get_attribute("title") or "")
    assert "expires" in (badge.get_attribute("title") or "")
    shoot(page, "models-new-badge", focus=badge)


def test_pause_resume_and_cancel_a_job(page: Page, app_url: str) -> None:
    log_in(page, app_url, *ADMIN)
    page.goto(app_url + "/admin/jobs")
    page.get_by_label("A vendor").check()
    # Every region: enough items that the job is still running when Pause is clicked.
    page.get_by_label("Vendor", exact=True).fill("Meta")
    page.get_by_role("button", name="Start job").click()
    page.wait_for_url(re.compile(r"/admin/jobs/[0-9a-f-]{36}$"))
    status = page.get_by_test_id("job-status")
    page.get_by_role("button", name="Pause").click()
    expect(status).to_have_text("PAUSED")
    page.get_by_role("button", name="Resume").click()
    expect(status).not_to_have_text("PAUSED")
    if page.get_by_role("button", name="Cancel").count():
        page.get_by_role("button", name="Cancel").click()
        expect(status).to_have_text(re.compile("CANCELLED|COMPLETED"))


def test_every_admin_page_renders(page: Page, app_url: str) -> None:
    log_in(page, app_url, *ADMIN)
    for path, heading in [
        ("/admin/jobs", "Certification jobs"),
        ("/admin/certifications", "Certifications"),
        ("/admin/stats", "Certification statistics"),
        ("/admin/catalog", "Catalog"),
        ("/admin/queue", "Queue monitor"),
        ("/admin/health", "Health"),
        ("/admin/discovery", "Discovery"),
    ]:
        response = page.goto(app_url + path)
        assert response is not None and response.status == 200, path
        expect(page.locator("h1")).to_contain_text(heading)
        shoot(page, "admin-" + path.rsplit("/", 1)[1])
    # Discovery: a dry run reports and writes nothing.
    page.get_by_label("Provider").select_option("openai")
    page.get_by_role("button", name="Dry run").click()
    expect(page.locator("section.card h2")).to_contain_text("Dry run")
    shoot(page, "admin-discovery-dry-run")
    # A certification's detail, with its tests.
    page.goto(app_url + "/admin/certifications?status=CERTIFIED")
    page.locator("tbody a").first.click()
    expect(page.locator("h2", has_text="Tests")).to_be_visible()
    expect(page.locator("tbody tr").first).to_contain_text("passed")
    shoot(page, "admin-certification-detail")
    # The catalog: a bad price is shown next to its field.
    page.goto(app_url + "/admin/catalog")
    first = page.locator('form[action^="/admin/catalog/deployments/"]').first
    first.get_by_label("Input $/1M").fill("-3")
    first.get_by_role("button", name="Save").click()
    error = page.locator(".has-error .field-error").first
    expect(error).to_contain_text("greater than or equal")
    shoot(page, "admin-catalog-error", focus=error)
