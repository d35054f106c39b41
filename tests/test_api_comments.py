"""The API of a case's conversation: comments, attachments and history."""

from collections.abc import Callable

from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework import serializers
from rest_framework.test import APIClient

from accounts.models import User
from cases import services
from cases.models import Attachment, Case, CaseEvent, Comment, EventKind, Status
from cases.serializers import CommentSerializer
from tests.test_api_cases import assert_error, url

ClientFor = Callable[[User | None], APIClient]


def test_customer_comments_with_attachments_as_multipart(
    api_client: ClientFor, customer: User, case: Case
) -> None:
    response = api_client(customer).post(
        url(case, "comments/"),
        {
            "body": "Here are the logs.",
            "attachments": [
                SimpleUploadedFile("server.log", b"ERROR boom\n", content_type="text/plain"),
                SimpleUploadedFile("screen.png", b"\x89PNG...", content_type="image/png"),
            ],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["public"] is True
    assert body["author"]["email"] == customer.email
    assert [a["name"] for a in body["attachments"]] == ["server.log", "screen.png"]
    assert body["attachments"][0]["url"].endswith(
        f"/api/v1/cases/{case.number}/attachments/{body['attachments'][0]['id']}/"
    )
    assert Attachment.objects.filter(case=case).count() == 2


def test_comment_as_json_without_attachments(
    api_client: ClientFor, customer: User, case: Case
) -> None:
    response = api_client(customer).post(url(case, "comments/"), {"body": "Hi"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["attachments"] == []


def test_empty_comment_names_the_body(api_client: ClientFor, customer: User, case: Case) -> None:
    response = api_client(customer).post(url(case, "comments/"), {"body": " "}, format="json")
    assert "body" in assert_error(response, 400, "invalid")["errors"]
    assert not Comment.objects.exists()


def test_too_large_attachment_is_400_and_nothing_is_saved(
    api_client: ClientFor, customer: User, case: Case, settings: object
) -> None:
    settings.CASEBOOK_MAX_ATTACHMENT_BYTES = 10  # type: ignore[attr-defined]
    response = api_client(customer).post(
        url(case, "comments/"),
        {"body": "Logs", "attachments": [SimpleUploadedFile("big.log", b"x" * 11)]},
        format="multipart",
    )
    assert "attachments" in assert_error(response, 400, "invalid")["errors"]
    assert not Comment.objects.exists()
    assert not Attachment.objects.exists()


def test_customer_may_not_write_an_internal_note(
    api_client: ClientFor, customer: User, case: Case
) -> None:
    response = api_client(customer).post(
        url(case, "comments/"), {"body": "Secret", "public": False}, format="json"
    )
    assert_error(response, 403, "permission_denied")


def test_customer_sees_public_comments_only_and_staff_see_notes(
    api_client: ClientFor, customer: User, support: User, case: Case
) -> None:
    services.add_comment(case=case, by=support, body="We are on it.")
    services.add_comment(case=case, by=support, body="Looks like the proxy.", public=False)
    staff = api_client(support).get(url(case, "comments/")).json()["results"]
    mine = api_client(customer).get(url(case, "comments/")).json()["results"]
    assert [c["body"] for c in staff] == ["We are on it.", "Looks like the proxy."]
    assert [c["body"] for c in mine] == ["We are on it."]
    listed = api_client(customer).get(url(case)).json()
    assert listed["comment_count"] == 1


def test_customer_reply_reopens_a_case_waiting_on_them(
    api_client: ClientFor, customer: User, support: User, case: Case
) -> None:
    services.transition_case(case=case, by=support, name="request_info")
    api_client(customer).post(url(case, "comments/"), {"body": "Here it is."}, format="json")
    assert Case.objects.get(pk=case.pk).status == Status.OPEN


def test_events_show_the_history_and_hide_internal_events_from_customers(
    api_client: ClientFor, customer: User, support: User, case: Case
) -> None:
    services.reclassify_case(case=case, by=support, to="bug", reason="A defect")
    services.add_comment(case=case, by=support, body="Note", public=False)
    services.assign_case(case=case, by=support, assignee=support)
    staff = api_client(support).get(url(case, "events/")).json()["results"]
    mine = api_client(customer).get(url(case, "events/")).json()["results"]
    assert [e["kind"] for e in staff] == ["filed", "reclassified", "commented", "assigned"]
    assert [e["kind"] for e in mine] == ["filed", "reclassified"]
    reclassified = mine[1]
    assert (reclassified["from"], reclassified["to"]) == ("issue", "bug")
    assert reclassified["reason"] == "A defect"
    assert reclassified["actor"]["email"] == support.email


def test_attachment_download_is_an_attachment_with_nosniff(
    api_client: ClientFor, customer: User, case: Case
) -> None:
    comment = services.add_comment(
        case=case,
        by=customer,
        body="See file",
        attachments=[SimpleUploadedFile("page.html", b"<script>alert(1)</script>")],
    )
    attachment = comment.attachments.get()
    response = api_client(customer).get(url(case, f"attachments/{attachment.pk}/"))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"<script>alert(1)</script>"  # type: ignore[attr-defined]
    assert response["Content-Disposition"].startswith("attachment")
    assert 'filename="page.html"' in response["Content-Disposition"]
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_attachment_of_an_internal_note_is_404_for_the_customer(
    api_client: ClientFor, customer: User, support: User, case: Case
) -> None:
    note = services.add_comment(
        case=case,
        by=support,
        body="Internal",
        public=False,
        attachments=[SimpleUploadedFile("dump.txt", b"secret")],
    )
    attachment = note.attachments.get()
    assert_error(
        api_client(customer).get(url(case, f"attachments/{attachment.pk}/")), 404, "not_found"
    )
    assert api_client(support).get(url(case, f"attachments/{attachment.pk}/")).status_code == 200


def test_attachment_of_another_case_is_404_through_this_case(
    api_client: ClientFor, customer: User, case: Case, other_customer: User
) -> None:
    from tests import factories

    theirs = factories.file_case(reporter=other_customer)
    comment = services.add_comment(
        case=theirs,
        by=other_customer,
        body="Mine",
        attachments=[SimpleUploadedFile("a.txt", b"theirs")],
    )
    attachment = comment.attachments.get()
    response = api_client(customer).get(url(case, f"attachments/{attachment.pk}/"))
    assert_error(response, 404, "not_found")


def test_comment_event_points_at_the_comment(
    api_client: ClientFor, customer: User, case: Case
) -> None:
    created = api_client(customer).post(url(case, "comments/"), {"body": "Hi"}, format="json")
    event = CaseEvent.objects.get(case=case, kind=EventKind.COMMENTED)
    assert event.comment_id == created.json()["id"]


def test_a_comment_is_shown_with_exactly_the_declared_fields(
    customer: User, support: User, case: Case
) -> None:
    upload = SimpleUploadedFile("server.log", b"ERROR boom\n", content_type="text/plain")
    services.add_comment(case=case, by=customer, body="Logs.", attachments=[upload])
    services.add_comment(case=case, by=support, body="Thanks.")
    context = {"case": case}
    shown = []
    for comment in Comment.objects.filter(case=case).prefetch_related("attachments"):
        # DRF's own rendering of the declared fields, which the schema documents.
        declared = serializers.Serializer.to_representation(
            CommentSerializer(context=context), comment
        )
        assert CommentSerializer(comment, context=context).data == declared
        shown.append(declared)
    assert [len(comment["attachments"]) for comment in shown] == [1, 0]
