"""Sign-in protection: failed-sign-in limits, password strength, staff two-factor."""

import datetime
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client, RequestFactory
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from tests import factories

PASSWORD = "a-Long-enough-passphrase-42"
ADMIN_LOGIN = "/admin/login/"


@pytest.fixture
def staff(db: None) -> User:
    user = factories.SupportFactory.create(email="rohan@vantage.example.com")
    user.set_password(PASSWORD)
    user.save()
    return user


def sign_in(client: Client, email: str, password: str, address: str = "10.0.0.1") -> Any:
    return client.post(
        ADMIN_LOGIN,
        {"username": email, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
    )


@pytest.fixture
def low_limit(settings: Any) -> int:
    """A lower account limit, for tests about what happens once locked."""
    settings.CASEBOOK_SIGNIN_LIMIT_PER_ACCOUNT = 5
    return 5


def fail_times(client: Client, email: str, times: int, address: str = "10.0.0.1") -> None:
    for _ in range(times):
        response = sign_in(client, email, "wrong password", address)
        assert response.status_code in (200, 429)


# Failed sign-ins ----------------------------------------------------------------


def test_wrong_passwords_below_the_limit_still_let_the_right_one_in(
    client: Client, staff: User
) -> None:
    fail_times(client, staff.email, 29)
    response = sign_in(client, staff.email, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_thirty_wrong_passwords_lock_the_account_with_a_clear_message(
    client: Client, staff: User
) -> None:
    fail_times(client, staff.email, 29)
    response = sign_in(client, staff.email, "wrong password")

    assert response.status_code == 429
    text = response.content.decode()
    assert "Too many failed sign-ins" in text
    assert "Try again in 15 minutes" in text
    assert response["Retry-After"] == str(15 * 60)


def test_the_right_password_still_waits_during_the_lockout(client: Client, staff: User) -> None:
    fail_times(client, staff.email, 30)
    response = sign_in(client, staff.email, PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lockout_follows_the_account_to_another_address(
    client: Client, staff: User, low_limit: int
) -> None:
    fail_times(client, staff.email, low_limit, address="10.0.0.1")
    response = sign_in(client, staff.email, PASSWORD, address="192.0.2.77")
    assert response.status_code == 429


def test_the_email_is_counted_whatever_its_case(
    client: Client, staff: User, low_limit: int
) -> None:
    fail_times(client, staff.email.upper(), low_limit)
    assert sign_in(client, staff.email, PASSWORD).status_code == 429


def test_other_accounts_are_unaffected_even_from_the_same_address(
    client: Client, staff: User
) -> None:
    colleague = factories.SupportFactory.create(email="ana@vantage.example.com")
    colleague.set_password(PASSWORD)
    colleague.save()
    fail_times(client, staff.email, 30)

    response = sign_in(client, colleague.email, PASSWORD)
    assert response.status_code == 302


def test_many_failures_from_one_address_lock_that_address(
    client: Client, staff: User, settings: Any
) -> None:
    settings.CASEBOOK_SIGNIN_LIMIT_PER_ADDRESS = 40
    for n in range(40):
        sign_in(client, f"guess{n}@example.com", "wrong password")

    assert sign_in(client, staff.email, PASSWORD).status_code == 429
    assert sign_in(client, staff.email, PASSWORD, address="10.0.0.2").status_code == 302


def test_the_account_opens_again_after_the_cool_off_time(
    client: Client, staff: User, low_limit: int
) -> None:
    fail_times(client, staff.email, low_limit)
    assert sign_in(client, staff.email, PASSWORD).status_code == 429

    # The failures happened more than the cool-off time ago.
    AccessAttempt.objects.update(
        attempt_time=datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(minutes=16)
    )
    assert sign_in(client, staff.email, PASSWORD).status_code == 302


def test_the_limit_is_configurable(client: Client, staff: User, settings: Any) -> None:
    settings.CASEBOOK_SIGNIN_LIMIT_PER_ACCOUNT = 5
    fail_times(client, staff.email, 5)
    assert sign_in(client, staff.email, PASSWORD).status_code == 429


def test_a_json_client_is_told_it_is_locked_in_json(
    client: Client, staff: User, low_limit: int
) -> None:
    fail_times(client, staff.email, low_limit)
    response = client.post(
        ADMIN_LOGIN,
        {"username": staff.email, "password": PASSWORD},
        REMOTE_ADDR="10.0.0.1",
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 429
    assert response.json()["code"] == "signin_locked"
    assert response.json()["retry_after_seconds"] == 900


def test_any_view_using_authenticate_with_the_request_is_limited(staff: User) -> None:
    """The portal's own sign-in page calls authenticate(request, email=..., password=...)."""

    def attempt(password: str) -> Any:
        request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="10.0.0.9")
        return authenticate(request, email=staff.email, password=password), request

    for _ in range(30):
        user, _request = attempt("wrong password")
        assert user is None
    user, request = attempt(PASSWORD)
    assert user is None
    assert request.axes_locked_out is True  # type: ignore[attr-defined]


def test_authenticate_without_a_request_is_not_a_web_sign_in(staff: User) -> None:
    assert authenticate(email=staff.email, password=PASSWORD) == staff


# Passwords ------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    ["short-Pass1", "password1234", "123456789012345", "rohan.vantage.example"],
    ids=["under-12", "common", "numeric", "like-the-email"],
)
def test_weak_passwords_are_refused(staff: User, password: str) -> None:
    with pytest.raises(ValidationError):
        validate_password(password, user=staff)


def test_a_long_uncommon_password_is_accepted(staff: User) -> None:
    validate_password("cobalt-harbour-lantern-7", user=staff)


# Two-factor sign-in for staff -------------------------------------------------------------


def code_for(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


@pytest.fixture
def device(staff: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)


def test_staff_without_a_device_go_straight_into_the_admin(client: Client, staff: User) -> None:
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200


def test_staff_with_a_device_must_confirm_a_code_before_the_admin(
    client: Client, staff: User, device: TOTPDevice
) -> None:
    response = sign_in(client, staff.email, PASSWORD)
    assert response.status_code == 302

    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/two-factor/verify/?next=/admin/")

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Enter the code" in page.content.decode()

    wrong = client.post("/accounts/two-factor/verify/", {"token": "000000", "next": "/admin/"})
    assert wrong.status_code == 200
    assert "not right" in wrong.content.decode()
    assert client.get("/admin/").status_code == 302
    # django-otp slows down guessing after a wrong code; let that delay pass.
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=datetime.datetime.now(tz=datetime.UTC)
        - datetime.timedelta(minutes=1)
    )

    right = client.post(
        "/accounts/two-factor/verify/", {"token": code_for(device), "next": "/admin/"}
    )
    assert right.status_code == 302
    assert right["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_code_page_does_not_redirect_elsewhere(
    client: Client, staff: User, device: TOTPDevice
) -> None:
    sign_in(client, staff.email, PASSWORD)
    response = client.post(
        "/accounts/two-factor/verify/",
        {"token": code_for(device), "next": "https://evil.example.com/"},
    )
    assert response["Location"] == "/admin/"


def test_unconfirmed_staff_get_a_403_from_the_session_api(
    client: Client, staff: User, device: TOTPDevice
) -> None:
    client.force_login(staff)
    response = client.get("/api/v1/cases/")
    assert response.status_code == 403
    assert response.json()["code"] == "two_factor_required"


def test_customers_are_not_asked_for_a_code(client: Client, customer: User) -> None:
    TOTPDevice.objects.create(user=customer, name="phone", confirmed=True)
    client.force_login(customer)
    assert client.get("/healthz").status_code == 200
    assert client.get("/admin/").status_code == 302
    assert "two-factor" not in client.get("/admin/")["Location"]


def test_staff_may_enrol_an_authenticator_app(client: Client, staff: User) -> None:
    client.force_login(staff)
    page = client.get("/accounts/two-factor/enrol/?next=/admin/")
    assert page.status_code == 200
    assert 'src="data:image/svg+xml;base64,' in page.content.decode()
    device = TOTPDevice.objects.get(user=staff)
    assert device.confirmed is False

    response = client.post(
        "/accounts/two-factor/enrol/", {"token": code_for(device), "next": "/admin/"}
    )
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed is True
    assert client.get("/admin/").status_code == 200


def test_superusers_must_enrol_in_production_mode(client: Client, settings: Any, db: None) -> None:
    settings.CASEBOOK_OTP_REQUIRED_FOR_SUPERUSERS = True
    admin = User.objects.create_superuser("root@casebook.example.com", PASSWORD)
    client.force_login(admin)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/two-factor/enrol/")


def test_superusers_need_no_device_outside_production(
    client: Client, settings: Any, db: None
) -> None:
    settings.CASEBOOK_OTP_REQUIRED_FOR_SUPERUSERS = False
    admin = User.objects.create_superuser("root@casebook.example.com", PASSWORD)
    client.force_login(admin)
    assert client.get("/admin/").status_code == 200
