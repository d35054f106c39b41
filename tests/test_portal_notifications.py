"""The portal's email settings page and following a case from its page."""

from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from cases import services
from cases.models import Case
from notifications.models import CaseFollower, EmailKind, NotificationPreference
from tests import factories

SETTINGS_URL = "/accounts/notifications/"
CUSTOMER_KINDS = [
    "case_filed",
    "support_reply",
    "reclassified",
    "waiting_on_customer",
    "resolved",
    "reopened",
]


@pytest.fixture
def colleague(customer: User) -> User:
    """Another customer of the reporter's organization."""
    return factories.CustomerFactory.create(organization=customer.organization)


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def follow_url(case: Case) -> str:
    return reverse("cases:follow", kwargs={"number": case.number})


def muted(user: User) -> set[str]:
    return set(
        NotificationPreference.objects.filter(user=user, enabled=False).values_list(
            "kind", flat=True
        )
    )


# Email settings -------------------------------------------------------------


def test_the_page_header_links_to_the_email_settings(client: Client, customer: User) -> None:
    response = signed_in(client, customer).get("/")
    assert f'href="{SETTINGS_URL}"' in response.content.decode()


def test_the_settings_page_has_a_labelled_checkbox_per_customer_email_kind_all_on(
    client: Client, customer: User
) -> None:
    response = signed_in(client, customer).get(SETTINGS_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<fieldset" in html
    assert "<legend>Email me when</legend>" in html
    for kind in CUSTOMER_KINDS:
        assert f'<input type="checkbox" name="{kind}"' in html
        assert f'for="id_{kind}"' in html
        assert f'id="id_{kind}" checked' in html
    assert 'name="customer_reply"' not in html
    assert "style=" not in html
    assert "<script>" not in html


def test_unticking_a_kind_turns_it_off_with_a_success_message(
    client: Client, customer: User
) -> None:
    kept = [kind for kind in CUSTOMER_KINDS if kind != "support_reply"]
    response = signed_in(client, customer).post(
        SETTINGS_URL, dict.fromkeys(kept, "on"), follow=True
    )
    assert response.redirect_chain == [(SETTINGS_URL, 302)]
    html = response.content.decode()
    assert "Your email settings are saved." in html
    assert muted(customer) == {"support_reply"}
    assert 'id="id_support_reply" checked' not in html
    assert 'id="id_resolved" checked' in html


def test_ticking_a_kind_again_turns_it_back_on(client: Client, customer: User) -> None:
    NotificationPreference.objects.create(user=customer, kind=EmailKind.RESOLVED, enabled=False)
    signed_in(client, customer).post(SETTINGS_URL, dict.fromkeys(CUSTOMER_KINDS, "on"))
    assert muted(customer) == set()


def test_a_turned_off_kind_is_no_longer_emailed(
    client: Client,
    customer: User,
    colleague: User,
    case: Case,
    support: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    CaseFollower.objects.create(case=case, user=colleague)
    kept = [kind for kind in CUSTOMER_KINDS if kind != "support_reply"]
    signed_in(client, customer).post(SETTINGS_URL, dict.fromkeys(kept, "on"))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.add_comment(case=case, by=support, body="Try restarting.")
    assert [m.to for m in mail.outbox] == [[colleague.email]]


def test_one_persons_settings_leave_anothers_alone(
    client: Client, customer: User, colleague: User
) -> None:
    signed_in(client, customer).post(SETTINGS_URL, {})
    assert muted(customer) == set(CUSTOMER_KINDS)
    assert muted(colleague) == set()


def test_staff_choose_the_customer_reply_email_only(client: Client, support: User) -> None:
    client = signed_in(client, support)
    html = client.get(SETTINGS_URL).content.decode()
    assert 'name="customer_reply"' in html
    assert 'name="support_reply"' not in html
    client.post(SETTINGS_URL, {})
    assert muted(support) == {"customer_reply"}


def test_the_settings_page_needs_a_sign_in(client: Client, db: None) -> None:
    response = client.get(SETTINGS_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


# Following a case -----------------------------------------------------------


def test_a_colleague_follows_a_case_from_its_page_and_gets_its_emails(
    client: Client,
    case: Case,
    colleague: User,
    support: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = signed_in(client, colleague)
    page = client.get(case.get_absolute_url()).content.decode()
    assert "Follow this case" in page
    response = client.post(follow_url(case), {"follow": "1"}, follow=True)
    assert response.redirect_chain == [(case.get_absolute_url(), 302)]
    html = response.content.decode()
    assert f"You follow {case.number}" in html
    assert "Stop following" in html
    assert CaseFollower.objects.filter(case=case, user=colleague).exists()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.add_comment(case=case, by=support, body="Fixed in 2.1.")
    assert colleague.email in [m.to[0] for m in mail.outbox]


def test_stop_following_removes_the_follow(client: Client, case: Case, colleague: User) -> None:
    CaseFollower.objects.create(case=case, user=colleague)
    response = signed_in(client, colleague).post(follow_url(case), {"follow": "0"}, follow=True)
    html = response.content.decode()
    assert f"You no longer follow {case.number}" in html
    assert "Follow this case" in html
    assert not CaseFollower.objects.exists()


def test_following_twice_keeps_one_follow(client: Client, case: Case, colleague: User) -> None:
    client = signed_in(client, colleague)
    client.post(follow_url(case), {"follow": "1"})
    client.post(follow_url(case), {"follow": "1"})
    assert CaseFollower.objects.filter(case=case, user=colleague).count() == 1


def test_following_a_case_of_another_organization_is_a_404(
    client: Client, case: Case, other_customer: User
) -> None:
    response = signed_in(client, other_customer).post(follow_url(case), {"follow": "1"})
    assert response.status_code == 404
    assert case.subject not in response.content.decode()
    assert not CaseFollower.objects.exists()


def test_the_reporter_and_staff_are_offered_no_follow_button(
    client: Client, case: Case, customer: User, support: User
) -> None:
    assert (
        "Follow this case"
        not in signed_in(client, customer).get(case.get_absolute_url()).content.decode()
    )
    assert (
        "Follow this case"
        not in signed_in(Client(), support).get(case.get_absolute_url()).content.decode()
    )


def test_staff_cannot_follow_and_are_told_why(client: Client, case: Case, support: User) -> None:
    response = signed_in(client, support).post(follow_url(case), {"follow": "1"}, follow=True)
    assert "Only customers of the case&#x27;s organization may follow it." in (
        response.content.decode()
    )
    assert not CaseFollower.objects.exists()


def test_a_follow_post_without_a_choice_is_a_400(
    client: Client, case: Case, colleague: User
) -> None:
    response = signed_in(client, colleague).post(follow_url(case), {"follow": "maybe"})
    assert response.status_code == 400
    assert not CaseFollower.objects.exists()


def test_following_needs_a_sign_in(client: Client, case: Case) -> None:
    response = client.post(follow_url(case), {"follow": "1"})
    assert response.status_code == 302
    assert not CaseFollower.objects.exists()
