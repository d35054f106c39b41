"""
Sessions in the database, read with their user (accounts.sessions).

The user read with the session must be signed in exactly when Django's
django.contrib.auth.get_user would sign them in: the checks below are its.
"""

import datetime
from importlib import import_module
from types import SimpleNamespace
from typing import Any

from asgiref.sync import async_to_sync
from django.apps import apps
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.backends import db as django_db_sessions
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.management import call_command
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.utils import timezone

from accounts.middleware import AuthenticationMiddleware
from accounts.models import Session, User
from accounts.sessions import SessionStore

NEW_PASSWORD = "a-Long-new-passphrase-42"


def signed_in(client: Client, user: User) -> str:
    """Sign `user` in on `client`; return the session's key."""
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def request_with(session_key: str) -> HttpRequest:
    """Return a request sending `session_key`, through the session and authentication middleware."""
    request = RequestFactory().get("/")
    request.COOKIES[settings.SESSION_COOKIE_NAME] = session_key
    SessionMiddleware(lambda request: HttpResponse()).process_request(request)
    AuthenticationMiddleware(lambda request: HttpResponse()).process_request(request)
    return request


def permissions_of(user: User) -> set[str]:
    """Return the permissions of `user` as Django's ModelBackend reads them."""
    fresh = User.objects.get(pk=user.pk)
    return ModelBackend().get_all_permissions(fresh)


def test_the_session_and_its_user_with_their_permissions_are_one_query(
    client: Client, support: User, django_assert_num_queries: Any
) -> None:
    expected = permissions_of(support)
    request = request_with(signed_in(client, support))

    with django_assert_num_queries(1):
        assert request.user == support
        assert request.user.is_authenticated
        assert request.user.get_all_permissions() == expected
        assert request.user.has_perm("cases.view_all_cases")
        assert not request.user.has_perm("cases.delete_case")


def test_a_customer_has_a_customers_permissions(
    client: Client, customer: User, django_assert_num_queries: Any
) -> None:
    expected = permissions_of(customer)
    request = request_with(signed_in(client, customer))

    with django_assert_num_queries(1):
        assert request.user.get_all_permissions() == expected
        assert not request.user.has_perm("cases.view_all_cases")
    assert expected


def test_a_superuser_has_every_permission(
    client: Client, db: None, django_assert_num_queries: Any
) -> None:
    superuser = User.objects.create_superuser("root@casebook.example.com", "password")
    request = request_with(signed_in(client, superuser))

    with django_assert_num_queries(1):
        assert request.user.has_perm("cases.delete_case")


def test_a_page_reads_the_session_and_its_user_in_one_query(
    client: Client, customer: User, django_assert_num_queries: Any
) -> None:
    client.force_login(customer)

    # The session with its user, the user's organization (page header).
    with django_assert_num_queries(2):
        response = client.get("/accounts/password/")

    assert response.status_code == 200
    assert response.context["user"] == customer


def test_another_session_backend_reads_the_user_apart(
    client: Client, customer: User, settings: Any, django_assert_num_queries: Any
) -> None:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    client.force_login(customer)

    # Django's session row, the user with their permissions, their organization.
    with django_assert_num_queries(3):
        response = client.get("/accounts/password/")

    assert response.context["user"] == customer


def test_signing_in_keeps_the_user_with_the_session_and_signing_out_ends_it(
    client: Client, customer: User
) -> None:
    client.post("/accounts/login/", {"username": customer.email, "password": "password"})
    key = client.cookies[settings.SESSION_COOKIE_NAME].value

    assert Session.objects.get(pk=key).user_id == customer.pk
    assert client.get("/").status_code == 200

    client.post("/accounts/logout/")

    assert not Session.objects.filter(pk=key).exists()
    assert client.get("/").status_code == 302


def test_a_session_without_anyone_signed_in_has_no_user(db: None) -> None:
    store = SessionStore()
    store["something"] = "else"
    store.create()

    assert Session.objects.get(pk=store.session_key).user_id is None
    assert request_with(store.session_key or "").user.is_anonymous


def test_a_deactivated_user_is_signed_out(client: Client, customer: User) -> None:
    key = signed_in(client, customer)
    User.objects.filter(pk=customer.pk).update(is_active=False)

    assert request_with(key).user.is_anonymous
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_a_deleted_user_is_signed_out(client: Client, customer: User) -> None:
    key = signed_in(client, customer)
    customer.delete()

    assert request_with(key).user.is_anonymous


def test_a_changed_password_signs_out_the_other_sessions(client: Client, customer: User) -> None:
    other = Client()
    other_key = signed_in(other, customer)
    client.force_login(customer)

    response = client.post(
        "/accounts/password/",
        {"old_password": "password", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response["Location"] == "/accounts/password/done/"
    # The session that changed it stays signed in, under a new key and hash.
    assert client.get("/").status_code == 200
    assert request_with(client.cookies[settings.SESSION_COOKIE_NAME].value).user == customer
    # The other one is signed out, and its session ended.
    assert request_with(other_key).user.is_anonymous
    assert not Session.objects.filter(pk=other_key).exists()
    assert other.get("/")["Location"].startswith("/accounts/login/")


def test_an_expired_session_is_anonymous(client: Client, customer: User) -> None:
    key = signed_in(client, customer)
    Session.objects.filter(pk=key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )

    assert request_with(key).user.is_anonymous
    assert client.get("/")["Location"].startswith("/accounts/login/")


def tampered(key: str, **changes: Any) -> None:
    """Change the data of the session `key`, as someone who could write it would."""
    store = SessionStore(key)
    for name, value in changes.items():
        if value is None:
            del store[name]
        else:
            store[name] = value
    store.save()


def test_a_tampered_session_hash_is_anonymous_and_ends_the_session(
    client: Client, customer: User
) -> None:
    key = signed_in(client, customer)
    tampered(key, **{HASH_SESSION_KEY: "0" * 64})

    assert request_with(key).user.is_anonymous
    assert not Session.objects.filter(pk=key).exists()


def test_a_session_without_its_hash_is_anonymous(client: Client, customer: User) -> None:
    key = signed_in(client, customer)
    tampered(key, **{HASH_SESSION_KEY: None})

    assert request_with(key).user.is_anonymous


def test_the_session_data_not_its_user_column_decides_who_is_signed_in(
    client: Client, customer: User, support: User, django_assert_num_queries: Any
) -> None:
    key = signed_in(client, customer)
    Session.objects.filter(pk=key).update(user=support)
    request = request_with(key)

    # The user read with the session is not the one it names: read that one.
    with django_assert_num_queries(2):
        assert request.user == customer
    assert not request.user.has_perm("cases.view_all_cases")


def test_a_backend_no_longer_configured_signs_out(
    client: Client, customer: User, settings: Any
) -> None:
    key = signed_in(client, customer)
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]

    assert request_with(key).user.is_anonymous


def test_a_session_of_another_backend_is_read_by_that_backend(
    client: Client, customer: User, settings: Any, django_assert_num_queries: Any
) -> None:
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "django.contrib.auth.backends.ModelBackend",
    ]
    client.force_login(customer, backend="django.contrib.auth.backends.ModelBackend")
    request = request_with(client.cookies[settings.SESSION_COOKIE_NAME].value)

    with django_assert_num_queries(2):
        assert request.user == customer


def test_a_session_signed_with_a_previous_secret_key_is_kept_under_a_new_key(
    client: Client, customer: User, settings: Any
) -> None:
    settings.SECRET_KEY = "the-previous-secret-key-" + "x" * 40
    key = signed_in(client, customer)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "the-new-secret-key-" + "y" * 40

    request = request_with(key)

    assert request.user == customer
    assert request.session.session_key != key
    assert request.session[HASH_SESSION_KEY] == customer.get_session_auth_hash()


def test_a_session_signed_with_an_unknown_secret_key_is_anonymous(
    client: Client, customer: User, settings: Any
) -> None:
    key = signed_in(client, customer)
    settings.SECRET_KEY = "another-secret-key-" + "z" * 40

    assert request_with(key).user.is_anonymous


def test_the_async_user_is_the_user_read_with_the_session(
    client: Client, support: User, django_assert_num_queries: Any
) -> None:
    expected = permissions_of(support)
    request = request_with(signed_in(client, support))

    with django_assert_num_queries(1):
        user = async_to_sync(request.auser)()  # type: ignore[attr-defined]
        assert user == support
        assert user.get_all_permissions() == expected


def test_the_async_user_of_a_deactivated_user_is_anonymous(client: Client, customer: User) -> None:
    key = signed_in(client, customer)
    User.objects.filter(pk=customer.pk).update(is_active=False)

    assert async_to_sync(request_with(key).auser)().is_anonymous  # type: ignore[attr-defined]


def test_clearsessions_removes_the_expired_sessions(client: Client, customer: User) -> None:
    key = signed_in(client, customer)
    expired = signed_in(Client(), customer)
    Session.objects.filter(pk=expired).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )

    call_command("clearsessions")

    assert list(Session.objects.values_list("pk", flat=True)) == [key]


def test_the_migration_keeps_the_sessions_of_djangos_table(
    customer: User, django_assert_num_queries: Any
) -> None:
    old = django_db_sessions.SessionStore()
    old[SESSION_KEY] = str(customer.pk)
    old[BACKEND_SESSION_KEY] = "accounts.backends.PermissionBackend"
    old[HASH_SESSION_KEY] = customer.get_session_auth_hash()
    old.create()
    expired = django_db_sessions.SessionStore()
    expired.set_expiry(-1)
    expired.create()
    migration = import_module("accounts.migrations.0004_session")

    migration.copy_sessions(apps, SimpleNamespace(connection=connection))

    assert list(Session.objects.values_list("pk", "user_id")) == [(old.session_key, customer.pk)]
    request = request_with(old.session_key or "")
    with django_assert_num_queries(1):
        assert request.user == customer
