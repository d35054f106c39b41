"""
Browser fixtures: Playwright for Python driving Debian's Chromium against the live server.

The machine has no outside network, so Chromium is launched from
/usr/bin/chromium with everything that would phone home switched off.
Screenshots go to test-artifacts/screenshots/ (ignored by git).
"""

from collections.abc import Iterator
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth.models import Group, Permission
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from accounts.roles import ROLE_PERMISSIONS
from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, require_chromium

DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_chromium()
    # Playwright's sync API keeps an event loop running in this thread, which
    # Django would take for async code; the tests' ORM calls are plain sync.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()


@pytest.fixture
def roles(transactional_db: None) -> None:
    """
    Make sure the role groups exist.

    They come from a data migration, and the flush after every transactional
    test (the live server needs those) empties their table.
    """
    for role, permissions in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(
            [
                Permission.objects.get(content_type__app_label=app, codename=codename)
                for app, codename in permissions
            ]
        )


@pytest.fixture
def page(browser: Browser, live_server: Any) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP, accept_downloads=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def screenshot(page: Page, name: str) -> None:
    """Save the page at desktop and at phone width as NAME-desktop.png and NAME-phone.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}-desktop.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=SCREENSHOTS / f"{name}-phone.png", full_page=True)
    page.set_viewport_size(DESKTOP)


def assert_accessible(page: Page) -> None:
    """Run axe-core on the page; fail on any serious or critical violation."""
    results = Axe().run(page)
    bad = [
        violation
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert not bad, "\n".join(
        f"{v['impact']}: {v['id']}: {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:5])
        for v in bad
    )
