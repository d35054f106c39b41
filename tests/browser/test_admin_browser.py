"""
A support agent's day in a real browser (Playwright, Debian's Chromium).

Signs in to the admin, finds a new case with the filters, acknowledges and
reclassifies it, schedules its fix into a release and publishes the release.
Screenshots go to test-artifacts/screenshots/.
"""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections

from accounts.models import User
from cases import services
from cases.models import Case, CaseEvent, CaseType, Resolution, Status
from tests import factories
from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # Depends on live_server so that the browser closes before the server stops.
    sync_api = pytest.importorskip("playwright.sync_api")
    require_chromium()
    # Playwright's sync API runs an event loop in this thread; the test's own ORM
    # calls are still synchronous, so let Django allow them.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        context.set_default_timeout(10_000)
        yield context.new_page()
        # The test's own queries ran under Playwright's loop on connections of their
        # own; close them, or the test database cannot be dropped afterwards.
        connections.close_all()
        context.close()
        browser.close()


def shoot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_support_triages_reclassifies_and_resolves_a_case_through_a_release(
    page: Any, live_server: Any
) -> None:
    from playwright.sync_api import expect

    agent: User = factories.SupportFactory.create(
        email="agent@vendor.example.com", name="Ada Agent"
    )
    customer: User = factories.CustomerFactory.create(name="Carl Customer")
    already_open = factories.file_case(subject="Dashboard is slow")
    services.acknowledge_case(case=already_open, by=agent)
    case = factories.file_case(
        reporter=customer, subject="Export drops the last row", type=CaseType.ISSUE
    )
    factories.ReleaseFactory.create(version="31.0")
    base = live_server.url

    # Sign in.
    page.goto(f"{base}/admin/login/")
    page.fill("input[name=username]", agent.email)
    page.fill("input[name=password]", "password")
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_contain_text("Casebook staff")

    # Find the new case with the filters.
    page.goto(f"{base}/admin/cases/case/")
    page.locator("#changelist-filter").get_by_role("link", name="New", exact=True).click()
    page.locator("#changelist-filter").get_by_role("link", name=re.compile("^Yes")).click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(case.number)
    shoot(page, "admin-case-list")
    rows.first.get_by_role("link", name=case.number).click()

    # Acknowledge it.
    status = page.get_by_test_id("case-status")
    expect(status).to_have_text("New")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".messagelist")).to_contain_text(f"Acknowledge: {case.number} is now open.")
    expect(status).to_have_text("Open")

    # Reclassify it as a bug, with a reason.
    page.get_by_role("link", name="Reclassify as bug").click()
    page.fill("textarea[name=reason]", "Rows are lost on export: a defect in the product.")
    shoot(page, "admin-transition-form")
    page.get_by_role("button", name="Reclassify as bug").click()
    expect(page.get_by_test_id("case-type")).to_have_text("Bug")

    # Hand it to engineering and schedule the fix into the coming release.
    page.get_by_role("link", name="Escalate to engineering").click()
    page.get_by_role("button", name="Escalate to engineering").click()
    expect(status).to_have_text("In engineering")
    page.get_by_role("link", name="Schedule fix").click()
    page.select_option("select[name=release]", label="31.0")
    page.get_by_role("button", name="Schedule fix").click()
    expect(status).to_have_text("Fix scheduled")
    expect(page.locator("#timeline")).to_contain_text("Reclassified from issue to bug")
    shoot(page, "admin-case-page")

    # Publish the release.
    page.goto(f"{base}/admin/cases/release/")
    page.get_by_role("link", name="31.0").click()
    page.get_by_role("link", name="Publish this release").click()
    expect(page.locator("#content-main")).to_contain_text(case.number)
    page.get_by_role("button", name="Publish 31.0").click()
    expect(page.locator(".messagelist")).to_contain_text(
        f"Release 31.0 published: 1 case resolved ({case.number})."
    )

    # The case is resolved, on the page and in the database.
    page.goto(f"{base}/admin/cases/case/{case.pk}/change/")
    expect(status).to_have_text("Resolved")
    expect(page.locator("#timeline")).to_contain_text("Release published")
    resolved = Case.objects.get(pk=case.pk)
    assert (resolved.type, resolved.status, resolved.resolution) == (
        CaseType.BUG,
        Status.RESOLVED,
        Resolution.FIXED_IN_RELEASE,
    )
    # What the customer is shown: their case, resolved, with the public history.
    seen = Case.objects.visible_to(customer).get(pk=case.pk)
    assert seen.status == Status.RESOLVED
    public_steps = [
        e.transition or e.kind for e in CaseEvent.objects.filter(case=case).visible_to(customer)
    ]
    assert public_steps == [
        "filed",
        "acknowledge",
        "reclassified",
        "escalate",
        "schedule_fix",
        "release_published",
    ]

    page.goto(f"{base}/admin/cases/case/dashboard/")
    expect(page.locator("#reclassification-matrix")).to_be_visible()
    shoot(page, "admin-dashboard")
