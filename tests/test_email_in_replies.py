"""Email in: replies become comments on their own case only; new messages file cases."""

import io
from email.message import EmailMessage
from typing import Any

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import User
from cases import services
from cases.models import Case, Channel, Comment, Resolution, Status
from notifications.inbound import ingest
from notifications.models import InboundEmail, OutboundEmail
from tests import factories

SECRET = "s3cret-gateway-key"


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Any:
    return lambda: django_capture_on_commit_callbacks(execute=True)


def message(
    sender: str,
    subject: str,
    body: str,
    *,
    in_reply_to: str = "",
    message_id: str = "",
    attachment: tuple[str, bytes] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Someone <{sender}>"
    msg["To"] = "support@casebook.example.com"
    msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content(body)
    if attachment:
        name, content = attachment
        msg.add_attachment(content, maintype="text", subtype="plain", filename=name)
    return msg.as_bytes()


QUOTED_REPLY = """Restarting fixed it, thanks.

Jo
--
Jo Bloggs, Nordwind IT
+49 30 1234567

On Tue, 3 Dec 2026 at 10:00, Casebook Support <support@casebook.example.com> wrote:
> Try restarting the agent.
"""


def test_a_reply_from_the_reporter_becomes_a_comment_without_quote_or_signature(
    case: Case, customer: User
) -> None:
    record = ingest(
        message(
            customer.email,
            f"Re: [{case.number}] {case.subject}",
            QUOTED_REPLY,
            attachment=("agent.log", b"line 1\n"),
        )
    )

    assert record.outcome == InboundEmail.Outcome.COMMENTED
    comment = Comment.objects.get(case=case)
    assert comment.author == customer
    assert comment.is_public
    assert comment.body == "Restarting fixed it, thanks.\n\nJo"
    [attachment] = comment.attachments.all()
    assert attachment.name == "agent.log"
    assert attachment.file.read() == b"line 1\n"


def test_the_same_subject_from_another_organization_is_refused(
    case: Case, other_customer: User
) -> None:
    record = ingest(message(other_customer.email, f"Re: [{case.number}] {case.subject}", "Hi."))

    assert record.outcome == InboundEmail.Outcome.REFUSED
    assert case.number in record.reason
    assert not Comment.objects.filter(case=case).exists()
    assert Case.objects.count() == 1


def test_a_refusal_does_not_tell_another_organization_that_a_case_exists(
    case: Case, other_customer: User
) -> None:
    missing = ingest(message(other_customer.email, "Re: [CASE-999999] x", "Hi."))
    theirs = ingest(message(other_customer.email, f"Re: [{case.number}] x", "Hi."))

    assert missing.reason == theirs.reason.replace(case.number, "CASE-999999")


def test_a_reply_naming_the_case_only_in_its_headers_is_threaded(
    customer: User, support: User, committed: Any
) -> None:
    with committed():
        case = factories.file_case(reporter=customer)
    notification = OutboundEmail.objects.get(case=case)

    record = ingest(
        message(
            customer.email, "Re: my problem", "More details.", in_reply_to=notification.message_id
        )
    )

    assert record.outcome == InboundEmail.Outcome.COMMENTED
    assert record.case == case


def test_a_reply_moves_a_case_waiting_on_the_customer_back_to_open(
    case: Case, customer: User, support: User
) -> None:
    services.request_info(case=case, by=support, reason="Which version?")

    ingest(message(customer.email, f"Re: [{case.number}] {case.subject}", "18.1.2"))

    assert Case.objects.get(pk=case.pk).status == Status.OPEN


def test_a_message_from_a_known_customer_naming_no_case_files_one(customer: User) -> None:
    record = ingest(message(customer.email, "Fwd: Login page is blank", "Since the upgrade."))

    assert record.outcome == InboundEmail.Outcome.FILED
    case = record.case
    assert case is not None
    assert case.channel == Channel.EMAIL
    assert case.subject == "Login page is blank"
    assert case.description == "Since the upgrade."
    assert case.reporter == customer


@pytest.mark.parametrize(
    "sender", ["stranger@example.org", "support"], ids=["unknown address", "staff address"]
)
def test_a_message_from_anyone_but_a_known_customer_is_refused(
    case: Case, support: User, sender: str
) -> None:
    address = support.email if sender == "support" else sender
    record = ingest(message(address, f"Re: [{case.number}] x", "Hello."))

    assert record.outcome == InboundEmail.Outcome.REFUSED
    assert "not a known customer" in record.reason
    assert not Comment.objects.exists()
    assert Case.objects.count() == 1


def test_a_reply_to_a_closed_case_is_refused_with_the_reason(
    case: Case, customer: User, support: User
) -> None:
    case = services.resolve_case(case=case, by=support, resolution=Resolution.ANSWERED)
    services.close_case(case=case, by=support)

    record = ingest(message(customer.email, f"Re: [{case.number}] x", "One more thing."))

    assert record.outcome == InboundEmail.Outcome.REFUSED
    assert "closed" in record.reason


def test_the_same_message_received_twice_is_taken_once(case: Case, customer: User) -> None:
    raw = message(customer.email, f"Re: [{case.number}] x", "Once.", message_id="<m1@mail.example>")

    ingest(raw)
    again = ingest(raw)

    assert again.outcome == InboundEmail.Outcome.REFUSED
    assert Comment.objects.filter(case=case).count() == 1


def test_three_rounds_of_replies_leave_the_subject_with_one_case_tag(
    customer: User, support: User, committed: Any
) -> None:
    with committed():
        case = factories.file_case(reporter=customer, subject="Slow login")
    for round_ in range(3):
        subject = "Re: " + mail.outbox[-1].subject
        with committed():
            ingest(message(customer.email, subject, f"Customer round {round_}."))
            services.add_comment(case=case, by=support, body=f"Support round {round_}.")

    assert mail.outbox[-1].subject == f"[{case.number}] Slow login"
    assert mail.outbox[-1].subject.count("[CASE-") == 1
    assert Comment.objects.filter(case=case, author=customer).count() == 3
    assert Case.objects.get(pk=case.pk).subject == "Slow login"


def test_ingest_email_command_reads_a_file_or_standard_input(
    case: Case, customer: User, tmp_path: Any, monkeypatch: Any
) -> None:
    path = tmp_path / "reply.eml"
    path.write_bytes(message(customer.email, f"Re: [{case.number}] x", "From a file."))
    out = io.StringIO()
    call_command("ingest_email", str(path), stdout=out)
    assert case.number in out.getvalue()

    raw = message(customer.email, f"Re: [{case.number}] x", "From stdin.")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(raw)))
    call_command("ingest_email", stdout=io.StringIO())

    assert [c.body for c in Comment.objects.filter(case=case)] == ["From a file.", "From stdin."]


def test_ingest_email_command_fails_on_a_refused_message(
    case: Case, other_customer: User, tmp_path: Any
) -> None:
    path = tmp_path / "reply.eml"
    path.write_bytes(message(other_customer.email, f"Re: [{case.number}] x", "Hi."))
    with pytest.raises(CommandError, match="Refused"):
        call_command("ingest_email", str(path))
    assert not Comment.objects.exists()


class TestEndpoint:
    url = "/email/inbound/"

    @pytest.fixture(autouse=True)
    def _secret(self, settings: Any) -> None:
        settings.CASEBOOK_INBOUND_EMAIL_SECRET = SECRET

    def post(self, client: Client, raw: bytes, secret: str | None = SECRET) -> Any:
        headers = {"X-Casebook-Inbound-Secret": secret} if secret else {}
        return client.post(self.url, raw, content_type="message/rfc822", headers=headers)

    def test_a_reply_posted_with_the_secret_becomes_a_comment(
        self, client: Client, case: Case, customer: User
    ) -> None:
        response = self.post(client, message(customer.email, f"Re: [{case.number}] x", "Hi."))

        assert response.status_code == 201
        assert response.json() == {"outcome": "commented", "case": case.number}

    @pytest.mark.parametrize("secret", [None, "wrong"])
    def test_without_the_right_secret_nothing_is_taken(
        self, client: Client, case: Case, customer: User, secret: str | None
    ) -> None:
        raw = message(customer.email, f"Re: [{case.number}] x", "Hi.")
        response = self.post(client, raw, secret=secret)

        assert response.status_code == 403
        assert not InboundEmail.objects.exists()

    def test_the_endpoint_is_off_without_a_configured_secret(
        self, client: Client, case: Case, customer: User, settings: Any
    ) -> None:
        settings.CASEBOOK_INBOUND_EMAIL_SECRET = ""
        response = self.post(client, message(customer.email, "x", "Hi."), secret="")

        assert response.status_code == 403

    def test_a_refused_message_answers_422_with_the_reason(
        self, client: Client, case: Case, other_customer: User
    ) -> None:
        response = self.post(client, message(other_customer.email, f"[{case.number}] x", "Hi."))

        assert response.status_code == 422
        assert response.json()["code"] == "email_refused"
        assert not Comment.objects.exists()

    def test_an_empty_body_is_a_400(self, client: Client) -> None:
        assert self.post(client, b"").status_code == 400
