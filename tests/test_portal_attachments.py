"""Attachments in the portal: upload limits, storage names and the download view."""

import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import User
from cases import services
from cases.models import Attachment, Case, CaseType, Comment
from tests import factories
from tests.portal_helpers import upload

LONG_NAME = "Überweisung_ÄÖÜ_データ_" + "x" * 120 + ".pdf"
PDF_BYTES = b"%PDF-1.4\n" + bytes(range(256)) * 40


@pytest.fixture
def customer_client(client: Client, customer: User) -> Client:
    client.force_login(customer)
    return client


def download_url(attachment: Attachment) -> str:
    return reverse(
        "cases:attachment", kwargs={"number": attachment.case.number, "pk": attachment.pk}
    )


def reply_url(case: Case) -> str:
    return reverse("cases:reply", kwargs={"number": case.number})


def filename_from(disposition: str) -> str:
    """Return the file name a browser takes from `disposition` (filename* wins, RFC 6266)."""
    encoded = re.search(r"filename\*=utf-8''([^;]+)", disposition, re.IGNORECASE)
    if encoded:
        return unquote(encoded.group(1), encoding="utf-8")
    plain = re.search(r'filename="([^"]*)"', disposition)
    assert plain, disposition
    return plain.group(1)


def body_of(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_long_non_ascii_name_uploads_lists_and_downloads_byte_identical(
    customer_client: Client, case: Case
) -> None:
    response = customer_client.post(
        reply_url(case),
        {"body": "The bank's file", "attachments": [upload(LONG_NAME, PDF_BYTES)]},
    )
    assert response.status_code == 302

    attachment = Attachment.objects.get()
    assert attachment.name == LONG_NAME
    page = customer_client.get(case.get_absolute_url())
    assert LONG_NAME in page.text
    assert download_url(attachment) in page.text

    download = customer_client.get(download_url(attachment))
    assert download.status_code == 200
    assert body_of(download) == PDF_BYTES
    assert download["Content-Disposition"].startswith("attachment;")
    assert filename_from(download["Content-Disposition"]) == LONG_NAME
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Type"] == "application/octet-stream"


def test_two_uploads_with_the_same_name_are_both_kept(customer_client: Client, case: Case) -> None:
    for content in (b"first", b"second"):
        customer_client.post(
            reply_url(case), {"body": "log", "attachments": [upload("log.txt", content)]}
        )

    first, second = Attachment.objects.order_by("id")
    assert first.name == second.name == "log.txt"
    assert first.file.name != second.file.name
    assert body_of(customer_client.get(download_url(first))) == b"first"
    assert body_of(customer_client.get(download_url(second))) == b"second"


def test_stored_name_is_random_and_not_the_original(customer_client: Client, case: Case) -> None:
    customer_client.post(
        reply_url(case), {"body": "x", "attachments": [upload("../../etc/passwd", b"root")]}
    )

    stored = str(Attachment.objects.get().file.name)
    assert "passwd" not in stored
    assert re.fullmatch(r"attachments/\d{4}/\d{2}/[0-9a-f]{32}", stored)


def test_file_over_the_limit_is_a_form_error_naming_the_limit_and_nothing_is_stored(
    customer_client: Client, case: Case, settings: Any
) -> None:
    settings.CASEBOOK_MAX_ATTACHMENT_BYTES = 1000

    response = customer_client.post(
        reply_url(case),
        {
            "body": "Big file attached",
            "attachments": [upload("small.txt", b"ok"), upload("huge.bin", b"x" * 1001)],
        },
    )

    assert response.status_code == 400
    errors = response.context["reply_form"].errors["attachments"]
    assert "1000 bytes" in errors[0]
    assert "huge.bin" in errors[0]
    assert Comment.objects.count() == 0
    assert Attachment.objects.count() == 0
    media = Path(settings.MEDIA_ROOT)
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_filing_with_attachments_stores_them_on_the_case(
    customer_client: Client, customer: User
) -> None:
    response = customer_client.post(
        "/cases/new/",
        {
            "subject": "Crash on start",
            "description": "See the dump.",
            "type": CaseType.ISSUE,
            "severity": "2",
            "attachments": [upload("core.dump", b"\x00\x01"), upload("notes.txt", b"n")],
        },
    )

    case = Case.objects.get()
    assert response["Location"] == case.get_absolute_url()
    assert sorted(a.name for a in case.attachments.all()) == ["core.dump", "notes.txt"]
    page = customer_client.get(case.get_absolute_url()).text
    assert "core.dump" in page
    assert "notes.txt" in page


def test_filing_with_a_file_over_the_limit_files_nothing(
    customer_client: Client, settings: Any
) -> None:
    settings.CASEBOOK_MAX_ATTACHMENT_BYTES = 10

    response = customer_client.post(
        "/cases/new/",
        {
            "subject": "Crash",
            "description": "dump",
            "type": "issue",
            "severity": "2",
            "attachments": [upload("core.dump", b"x" * 11)],
        },
    )

    assert response.status_code == 400
    assert "at most 10 bytes" in response.text
    assert Case.objects.count() == 0
    assert Attachment.objects.count() == 0


@pytest.mark.parametrize("name", ["page.html", "image.svg", "feed.xml", "script.js"])
def test_renderable_files_are_served_as_octet_stream_downloads(
    customer_client: Client, case: Case, customer: User, name: str
) -> None:
    services.add_comment(
        case=case,
        by=customer,
        body="file",
        attachments=[upload(name, b"<script>alert(1)</script>", content_type="text/html")],
    )

    response = customer_client.get(download_url(Attachment.objects.get()))

    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_attachment_of_another_organization_is_404(
    client: Client, case: Case, customer: User, other_customer: User
) -> None:
    services.add_comment(case=case, by=customer, body="f", attachments=[upload("a.txt", b"a")])
    attachment = Attachment.objects.get()
    client.force_login(other_customer)

    assert client.get(download_url(attachment)).status_code == 404


def test_attachment_addressed_through_another_case_is_404(
    customer_client: Client, case: Case, customer: User, other_customer: User
) -> None:
    theirs = factories.file_case(reporter=other_customer)
    services.add_comment(
        case=theirs, by=other_customer, body="f", attachments=[upload("secret.txt", b"s")]
    )
    attachment = Attachment.objects.get()

    url = reverse("cases:attachment", kwargs={"number": case.number, "pk": attachment.pk})

    assert customer_client.get(url).status_code == 404


def test_attachment_of_an_internal_note_is_404_for_customers_but_served_to_staff(
    client: Client, case: Case, customer: User, support: User
) -> None:
    services.add_comment(
        case=case,
        by=support,
        body="internal",
        public=False,
        attachments=[upload("internal.txt", b"i")],
    )
    attachment = Attachment.objects.get()

    client.force_login(customer)
    assert client.get(download_url(attachment)).status_code == 404
    assert "internal.txt" not in client.get(case.get_absolute_url()).text

    client.force_login(support)
    assert client.get(download_url(attachment)).status_code == 200


def test_anonymous_download_is_sent_to_sign_in(client: Client, case: Case, customer: User) -> None:
    services.add_comment(case=case, by=customer, body="f", attachments=[upload("a.txt", b"a")])

    response = client.get(download_url(Attachment.objects.get()))

    assert response.status_code == 302
    assert response["Location"].startswith(settings.LOGIN_URL)
