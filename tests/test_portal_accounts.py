"""Signing in by email, signing out, and changing or resetting a password."""

import re
from typing import Any

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client

from accounts.models import User
from tests import factories


def test_sign_in_page_asks_for_email_and_password(client: Client, db: None) -> None:
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert 'type="email"' in response.text
    assert 'autocomplete="email"' in response.text
    assert '<label for="id_username">Email' in response.text


def test_customer_signs_in_by_email_and_lands_on_the_case_list(
    client: Client, customer: User
) -> None:
    response = client.post("/accounts/login/", {"username": customer.email, "password": "password"})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session[SESSION_KEY] == str(customer.pk)


def test_sign_in_follows_next_to_the_page_asked_for(client: Client, customer: User) -> None:
    response = client.post(
        "/accounts/login/?next=/kb/",
        {"username": customer.email, "password": "password", "next": "/kb/"},
    )

    assert response["Location"] == "/kb/"


def test_sign_in_never_redirects_to_another_site(client: Client, customer: User) -> None:
    response = client.post(
        "/accounts/login/",
        {"username": customer.email, "password": "password", "next": "https://evil.example/"},
    )

    assert response["Location"] == "/"


def test_wrong_password_is_refused_with_a_clear_message(client: Client, customer: User) -> None:
    response = client.post("/accounts/login/", {"username": customer.email, "password": "nope"})

    assert response.status_code == 200
    assert "do not match an active account" in response.text
    assert SESSION_KEY not in client.session


def test_inactive_user_cannot_sign_in(client: Client, db: None) -> None:
    user = factories.CustomerFactory.create(is_active=False)

    client.post("/accounts/login/", {"username": user.email, "password": "password"})

    assert SESSION_KEY not in client.session


def test_sign_out_is_a_post_and_ends_the_session(client: Client, customer: User) -> None:
    client.force_login(customer)

    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert SESSION_KEY not in client.session


def test_password_change_needs_the_old_password(client: Client, customer: User) -> None:
    client.force_login(customer)

    refused = client.post(
        "/accounts/password/",
        {
            "old_password": "wrong",
            "new_password1": "a-Long-new-passphrase-42",
            "new_password2": "a-Long-new-passphrase-42",
        },
    )
    assert refused.status_code == 200
    assert "old_password" in refused.context["form"].errors

    done = client.post(
        "/accounts/password/",
        {
            "old_password": "password",
            "new_password1": "a-Long-new-passphrase-42",
            "new_password2": "a-Long-new-passphrase-42",
        },
    )
    assert done["Location"] == "/accounts/password/done/"
    customer.refresh_from_db()
    assert customer.check_password("a-Long-new-passphrase-42")


def test_password_reset_mails_a_link_that_sets_a_new_password(
    client: Client, customer: User, mailoutbox: list[Any]
) -> None:
    response = client.post("/accounts/password/reset/", {"email": customer.email})
    assert response["Location"] == "/accounts/password/reset/sent/"

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [customer.email]
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", mailoutbox[0].body)
    assert link

    form_page = client.get(link.group(1), follow=True)
    assert form_page.context["validlink"] is True
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(
        set_url,
        {"new_password1": "Fresh-passphrase-9917", "new_password2": "Fresh-passphrase-9917"},
    )
    assert done["Location"] == "/accounts/password/reset/complete/"
    customer.refresh_from_db()
    assert customer.check_password("Fresh-passphrase-9917")


def test_password_reset_for_an_unknown_address_says_the_same_and_mails_nothing(
    client: Client, db: None, mailoutbox: list[Any]
) -> None:
    response = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})

    assert response["Location"] == "/accounts/password/reset/sent/"
    assert mailoutbox == []


@pytest.mark.parametrize(
    "url",
    [
        "/accounts/login/",
        "/accounts/password/reset/",
        "/accounts/password/reset/sent/",
        "/accounts/password/reset/complete/",
    ],
)
def test_account_pages_render_for_anonymous_visitors(client: Client, db: None, url: str) -> None:
    assert client.get(url).status_code == 200
