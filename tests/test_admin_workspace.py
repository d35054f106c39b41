"""The staff workspace's comments, assignment, phone cases and bulk actions."""

from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import User
from cases import services
from cases.models import Attachment, Case, CaseEvent, CaseType, Channel, EventKind, Status
from tests import factories

pytestmark = pytest.mark.django_db


def url(name: str, *args: Any) -> str:
    return reverse(f"admin:cases_case_{name}", args=args)


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def fresh(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


# Comments -------------------------------------------------------------------


def test_support_replies_publicly_with_an_attachment(
    client: Client, support: User, case: Case
) -> None:
    client.force_login(support)
    upload = SimpleUploadedFile("trace.log", b"line 1\nline 2\n", content_type="text/plain")

    response = client.post(
        url("comment", case.pk),
        {"body": "Please try the patch.", "visibility": "public", "attachments": [upload]},
        follow=True,
    )

    comment = case.comments.get()
    assert (comment.body, comment.is_public, comment.author_id) == (
        "Please try the patch.",
        True,
        support.pk,
    )
    attachment = Attachment.objects.get(comment=comment)
    assert attachment.name == "trace.log"
    assert fresh(case).last_staff_message_at == comment.created_at
    page = response.content.decode()
    assert "Please try the patch." in page
    assert url("attachment", case.pk, attachment.pk) in page
    assert LogEntry.objects.filter(object_id=str(case.pk), action_flag=CHANGE).count() == 1


def test_internal_note_is_marked_internal_on_the_timeline(
    client: Client, support: User, case: Case
) -> None:
    client.force_login(support)

    response = client.post(
        url("comment", case.pk),
        {"body": "Customer is on an old build.", "visibility": "internal"},
        follow=True,
    )

    event = CaseEvent.objects.get(case=case, kind=EventKind.COMMENTED)
    assert event.is_public is False
    assert fresh(case).last_staff_message_at is None  # a note is no answer to the customer
    page = response.content.decode()
    assert "Internal: customers never see this" in page
    assert "Customer is on an old build." in page


def test_engineer_writes_internal_notes_but_a_crafted_public_reply_is_403(
    client: Client, engineer: User, case: Case
) -> None:
    client.force_login(engineer)

    form_page = client.get(url("change", case.pk))
    note = client.post(
        url("comment", case.pk), {"body": "Root cause found.", "visibility": "internal"}
    )
    reply = client.post(url("comment", case.pk), {"body": "Hello!", "visibility": "public"})

    choices = [value for value, _ in form_page.context["comment_form"].fields["visibility"].choices]
    assert choices == ["internal"]
    assert note.status_code == 302
    assert reply.status_code == 403
    assert [(c.body, c.is_public) for c in case.comments.all()] == [("Root cause found.", False)]


def test_an_empty_comment_is_shown_again_with_its_error(
    client: Client, support: User, case: Case
) -> None:
    client.force_login(support)

    response = client.post(url("comment", case.pk), {"body": "", "visibility": "public"})

    assert response.status_code == 400
    assert "body" in response.context["form"].errors
    assert not case.comments.exists()


def test_attachment_download_serves_the_file_under_its_name(
    client: Client, support: User, customer: User, case: Case
) -> None:
    upload = SimpleUploadedFile("screen.png", b"\x89PNG...", content_type="image/png")
    comment = services.add_comment(case=case, by=customer, body="See", attachments=[upload])
    attachment = comment.attachments.get()
    client.force_login(support)

    response = client.get(url("attachment", case.pk, attachment.pk))
    other_case = factories.file_case()
    wrong_case = client.get(url("attachment", other_case.pk, attachment.pk))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"\x89PNG..."  # type: ignore[attr-defined]
    assert 'filename="screen.png"' in response["Content-Disposition"]
    assert wrong_case.status_code == 404


# Assignment -----------------------------------------------------------------


def test_support_assigns_a_case_to_themselves(client: Client, support: User, case: Case) -> None:
    client.force_login(support)

    response = client.post(url("assign", case.pk), {"assign_to_me": "1"}, follow=True)

    assert fresh(case).assignee_id == support.pk
    event = CaseEvent.objects.get(case=case, kind=EventKind.ASSIGNED)
    assert (event.actor_id, event.to_value, event.is_public) == (support.pk, support.email, False)
    assert f"{case.number} is assigned to {support.email}." in messages_of(response)


def test_support_assigns_a_case_to_an_engineer_and_back_to_nobody(
    client: Client, support: User, engineer: User, case: Case
) -> None:
    client.force_login(support)

    client.post(url("assign", case.pk), {"assignee": engineer.pk})
    assigned = fresh(case).assignee_id
    client.post(url("assign", case.pk), {"assignee": ""})

    assert assigned == engineer.pk
    assert fresh(case).assignee_id is None
    assert [e.to_value for e in CaseEvent.objects.filter(case=case, kind=EventKind.ASSIGNED)] == [
        engineer.email,
        "",
    ]


def test_a_case_cannot_be_assigned_to_a_customer(
    client: Client, support: User, customer: User, case: Case
) -> None:
    client.force_login(support)

    response = client.post(url("assign", case.pk), {"assignee": customer.pk}, follow=True)

    assert fresh(case).assignee_id is None
    assert "Choose an active staff member to assign the case to." in messages_of(response)


def test_engineer_cannot_assign(client: Client, engineer: User, case: Case) -> None:
    client.force_login(engineer)

    response = client.post(url("assign", case.pk), {"assign_to_me": "1"})

    assert response.status_code == 403
    assert fresh(case).assignee_id is None


# Phone cases ----------------------------------------------------------------


def test_support_files_a_phone_case_for_a_customer(
    client: Client, support: User, customer: User
) -> None:
    client.force_login(support)

    response = client.post(
        url("add"),
        {
            "organization": customer.organization_id,
            "reporter": customer.pk,
            "subject": "Called: login loops",
            "description": "The customer cannot sign in since the update.",
            "type": CaseType.ISSUE,
            "severity": 2,
            "product_version": "18.2",
        },
    )

    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("change", case.pk)
    assert (case.channel, case.reporter_id, case.organization_id, case.severity) == (
        Channel.PHONE,
        customer.pk,
        customer.organization_id,
        2,
    )
    filed = CaseEvent.objects.get(case=case, kind=EventKind.FILED)
    assert (filed.actor_id, filed.data) == (support.pk, {"channel": "phone"})
    assert LogEntry.objects.get(object_id=str(case.pk)).action_flag == ADDITION


def test_phone_case_reporter_must_belong_to_the_organization(
    client: Client, support: User, customer: User, other_customer: User
) -> None:
    client.force_login(support)

    response = client.post(
        url("add"),
        {
            "organization": other_customer.organization_id,
            "reporter": customer.pk,
            "subject": "Called",
            "description": "Something",
            "type": CaseType.ISSUE,
            "severity": 3,
        },
    )

    assert response.status_code == 200
    assert "reporter" in response.context["form"].errors
    assert not Case.objects.exists()


def test_phone_form_lists_customers_with_their_organization(
    client: Client, support: User, customer: User
) -> None:
    client.force_login(support)

    page = client.get(url("add")).content.decode()

    assert f'data-organization="{customer.organization_id}"' in page
    assert support.email not in page.split('id="id_reporter"')[1].split("</select>")[0]


def test_engineer_cannot_file_phone_cases(client: Client, engineer: User, customer: User) -> None:
    client.force_login(engineer)

    assert client.get(url("add")).status_code == 403
    assert client.post(url("add"), {"reporter": customer.pk}).status_code == 403


# Bulk actions ---------------------------------------------------------------


def run_action(client: Client, action: str, cases: list[Case]) -> Any:
    return client.post(
        url("changelist"),
        {"action": action, ACTION_CHECKBOX_NAME: [c.pk for c in cases]},
        follow=True,
    )


def test_bulk_acknowledge_runs_once_per_case_and_reports_each_refusal(
    client: Client, support: User, customer: User
) -> None:
    new_one = factories.file_case(reporter=customer)
    new_two = factories.file_case(reporter=customer)
    already_open = factories.file_case(reporter=customer)
    services.acknowledge_case(case=already_open, by=support)
    client.force_login(support)

    response = run_action(client, "acknowledge_selected", [new_one, new_two, already_open])

    assert [fresh(c).status for c in (new_one, new_two, already_open)] == [Status.OPEN] * 3
    assert messages_of(response) == [
        f"Acknowledged: 2 cases ({new_one.number}, {new_two.number}).",
        f"{already_open.number} refused: “Acknowledge” is not possible while the case is open. "
        "Allowed now: request_info, resolve.",
    ]
    assert CaseEvent.objects.filter(transition="acknowledge").count() == 3  # 2 now, 1 before
    assert LogEntry.objects.filter(action_flag=CHANGE).count() == 2


def test_bulk_request_info_and_assign_to_me(client: Client, support: User, customer: User) -> None:
    cases = [factories.file_case(reporter=customer) for _ in range(2)]
    client.force_login(support)

    run_action(client, "request_info_selected", cases)
    run_action(client, "assign_selected_to_me", cases)

    assert [(fresh(c).status, fresh(c).assignee_id) for c in cases] == [
        (Status.WAITING_ON_CUSTOMER, support.pk)
    ] * 2


def test_engineer_is_offered_only_the_request_info_action(
    client: Client, engineer: User, case: Case
) -> None:
    client.force_login(engineer)

    response = client.get(url("changelist"))
    crafted = run_action(client, "acknowledge_selected", [case])

    actions = [name for name, _ in response.context["action_form"].fields["action"].choices]
    assert actions == ["", "request_info_selected"]
    assert fresh(case).status == Status.NEW
    assert crafted.status_code == 200


def test_attachment_whose_file_is_gone_is_404(
    client: Client, support: User, customer: User, case: Case
) -> None:
    upload = SimpleUploadedFile("gone.txt", b"x", content_type="text/plain")
    attachment = services.add_comment(
        case=case, by=customer, body="See", attachments=[upload]
    ).attachments.get()
    attachment.file.delete(save=False)
    client.force_login(support)

    assert client.get(url("attachment", case.pk, attachment.pk)).status_code == 404
