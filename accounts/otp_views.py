"""Pages where staff enrol an authenticator app and confirm a sign-in code."""

from base64 import b32encode, b64encode
from io import BytesIO

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from accounts.otp import HAS_DEVICE_KEY


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Code from your authenticator app",
        min_length=6,
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_token(self) -> str:
        token = "".join(self.cleaned_data["token"].split())
        if not token.isdigit():
            raise forms.ValidationError("The code is made of digits only.")
        return token


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("admin:index")


def _context(request: HttpRequest, **extra: object) -> dict[str, object]:
    return {**admin.site.each_context(request), "next": _next_url(request), **extra}


def _staff(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) and user.is_staff else None


@never_cache
@login_required(login_url=reverse_lazy("admin:login"))
def verify(request: HttpRequest) -> HttpResponse:
    """Ask a staff member with a device for the current code; remember the device on success."""
    user = _staff(request)
    if user is None:
        return HttpResponseRedirect(reverse("admin:login"))
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        throttled = False
        for device in devices_for_user(user, confirmed=True):
            allowed, _ = device.verify_is_allowed()
            throttled = throttled or not allowed
            if allowed and device.verify_token(form.cleaned_data["token"]):
                otp_login(request, device)
                request.session[HAS_DEVICE_KEY] = True
                return HttpResponseRedirect(_next_url(request))
        form.add_error(
            "token",
            "Too many wrong codes in a row; wait a few seconds, then enter the current code."
            if throttled
            else "That code is not right or has expired; wait for the next one and try again.",
        )
    return render(
        request,
        "accounts/otp_verify.html",
        _context(request, form=form, title="Confirm your sign-in"),
    )


def _qr_data_url(text: str) -> str:
    """Return the QR code of `text` as an SVG data URL (an image: no markup to trust)."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + b64encode(buffer.getvalue()).decode()


@never_cache
@login_required(login_url=reverse_lazy("admin:login"))
def enrol(request: HttpRequest) -> HttpResponse:
    """Let a staff member add an authenticator app: scan, then confirm one code."""
    user = _staff(request)
    if user is None:
        return HttpResponseRedirect(reverse("admin:login"))
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            request.session[HAS_DEVICE_KEY] = True
            return HttpResponseRedirect(_next_url(request))
        form.add_error("token", "That code does not match; check the app's clock and try again.")
    return render(
        request,
        "accounts/otp_enrol.html",
        _context(
            request,
            form=form,
            title="Add an authenticator app",
            qr_image=_qr_data_url(device.config_url),
            secret=b32encode(device.bin_key).decode(),
        ),
    )


app_name = "two_factor"
urlpatterns = [
    path("verify/", verify, name="verify"),
    path("enrol/", enrol, name="enrol"),
]
