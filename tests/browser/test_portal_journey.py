"""A customer files, follows and answers a case in a real browser; support reclassifies it."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Dialog, FilePayload, Page, expect

from accounts.models import User
from cases import services
from cases.models import Case, CaseType, KnowledgeArticle
from tests import factories
from tests.browser.conftest import assert_accessible, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SUBJECT = "Zahlung fehlgeschlagen – €50 — 日本語テスト 🚀"  # noqa: RUF001 (the dashes are the point)
HOSTILE = "The export fails.\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>"
LONG_NAME = "Überweisung_ÄÖÜ_データ_" + "x" * 120 + ".pdf"
PDF_BYTES = b"%PDF-1.4\n" + bytes(range(256)) * 64
REASON = "We reproduced it on 18.1.2: the payment export drops the currency."


def sign_in(page: Page, user: User) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Cases")


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


@pytest.fixture
def people(roles: None) -> dict[str, User]:
    customer = factories.CustomerFactory.create(name="Jürgen Weiß")
    return {"customer": customer, "support": factories.SupportFactory.create(name="Rohan Mehta")}


@pytest.fixture
def kb_article(roles: None) -> KnowledgeArticle:
    return factories.KnowledgeArticleFactory.create(
        slug="failed-payment-export",
        title="Payment export fails with a currency error",
        body="1. Open **Settings**\n2. Set the export currency\n\n```\nexport --currency EUR\n```",
    )


def test_customer_files_follows_and_answers_a_case(
    page: Page, people: dict[str, User], kb_article: KnowledgeArticle, tmp_path: Path
) -> None:
    customer, support = people["customer"], people["support"]
    dialogs: list[str] = []

    def record_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record_dialog)

    # Sign in.
    page.goto("/accounts/login/")
    assert_accessible(page)
    screenshot(page, "sign-in")
    sign_in(page, customer)

    # File a case; a matching article is suggested while typing the subject.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="File a case").click()
    page.get_by_label("Subject").press_sequentially("Payment export fails")
    suggestion = page.locator("#kb-suggestions").get_by_role("link", name=kb_article.title)
    expect(suggestion).to_be_visible()
    assert_accessible(page)
    screenshot(page, "new-case")
    page.get_by_label("Subject").fill(SUBJECT)
    page.get_by_label("Description").fill(HOSTILE)
    page.get_by_role("radio", name=re.compile("^Issue")).check()
    page.get_by_role("radio", name=re.compile("^2 - Production degraded")).check()
    page.get_by_label("Product version").fill("18.1.2")
    page.get_by_role("button", name="File the case").click()

    case = Case.objects.get()
    expect(page).to_have_url(re.compile(f"/cases/{case.number}/$"))
    expect(page.locator(".case-subject")).to_have_text(SUBJECT)
    # The hostile markup shows as text and runs nothing.
    description = page.locator(".description .markdown")
    expect(description).to_contain_text("<script>alert(1)</script>")
    assert description.locator("script, img").count() == 0

    # The case is in the list.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cases").click()
    expect(page.get_by_role("link", name=SUBJECT)).to_be_visible()
    assert_accessible(page)
    screenshot(page, "case-list")

    # Reply with an attachment, then download it again.
    page.get_by_role("link", name=SUBJECT).click()
    page.get_by_label("Your reply").fill("Here is the **bank's** file.")
    attachment: FilePayload = {
        "name": LONG_NAME,
        "mimeType": "application/pdf",
        "buffer": PDF_BYTES,
    }
    page.locator("#id_attachments").set_input_files(files=[attachment])
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_text("Your reply is added.")).to_be_visible()
    link = page.get_by_role("link", name=LONG_NAME)
    expect(link).to_be_visible()
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == LONG_NAME
    saved = tmp_path / "downloaded.pdf"
    download.save_as(saved)
    assert saved.read_bytes() == PDF_BYTES
    sign_out(page)

    # Support reclassifies it (the staff pages are not part of the portal).
    services.reclassify_case(case=case, by=support, to=CaseType.BUG, reason=REASON)

    # The customer sees the reclassification, its reason and what a bug means.
    sign_in(page, customer)
    page.get_by_role("link", name=SUBJECT).click()
    event = page.locator(".event-reclassified")
    expect(event).to_contain_text("Reclassified the case from Issue to Bug")
    expect(event).to_contain_text(REASON)
    expect(event).to_contain_text("resolved when the release with the fix is published")
    expect(page.locator(".case-head")).to_contain_text("Bug")
    assert_accessible(page)
    screenshot(page, "case")

    assert dialogs == []


def test_knowledge_base_pages_are_accessible(
    page: Page, people: dict[str, User], kb_article: KnowledgeArticle
) -> None:
    factories.KnowledgeArticleFactory.create(title="Rotate the TLS certificate")
    sign_in(page, people["customer"])

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Knowledge base").click()
    expect(page.get_by_role("link", name=kb_article.title)).to_be_visible()
    assert_accessible(page)
    screenshot(page, "kb-list")

    page.get_by_role("link", name=kb_article.title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(kb_article.title)
    expect(page.locator(".markdown strong")).to_have_text("Settings")
    assert_accessible(page)
    screenshot(page, "kb-article")


def test_keyboard_user_can_skip_to_content_and_sees_focus(
    page: Page, people: dict[str, User]
) -> None:
    sign_in(page, people["customer"])

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    outline = skip.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.closest('main') !== null")
    assert focused
