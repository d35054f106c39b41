"""Sign-in by email address (the user model's USERNAME_FIELD), and one's email settings."""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.mixins import LoginRequiredMixin
from django.urls import reverse_lazy
from django.views.generic import FormView

from accounts.models import User
from notifications.dispatch import email_kinds_for, muted_email_kinds, set_email_preferences
from notifications.models import EmailKind


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email",
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.error_messages["invalid_login"] = (
            "That email and password do not match an active account. Check both and try again."
        )


class SignInView(auth_views.LoginView):
    template_name = "accounts/login.html"
    form_class = EmailAuthenticationForm
    redirect_authenticated_user = True


EMAIL_KIND_HELP = {
    EmailKind.CASE_FILED: "A confirmation with the case number when a case is filed.",
    EmailKind.SUPPORT_REPLY: "Support answers a case publicly.",
    EmailKind.RECLASSIFIED: "Support changes a case's type, with the reason.",
    EmailKind.WAITING_ON_CUSTOMER: "Support needs something from you to go on.",
    EmailKind.RESOLVED: "A case is resolved, with the release or the article.",
    EmailKind.REOPENED: "A case is reopened.",
    EmailKind.CUSTOMER_REPLY: "A customer replies on a case assigned to you.",
}


class NotificationSettingsForm(forms.Form):
    """One checkbox per kind of email the person may receive, ticked when it is on."""

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        muted = muted_email_kinds(user)
        for kind in email_kinds_for(user):
            self.fields[kind.value] = forms.BooleanField(
                label=kind.label,
                help_text=EMAIL_KIND_HELP.get(kind, ""),
                required=False,
                initial=kind.value not in muted,
            )


class NotificationSettingsView(LoginRequiredMixin, FormView[NotificationSettingsForm]):
    template_name = "accounts/notification_settings.html"
    form_class = NotificationSettingsForm
    success_url = reverse_lazy("accounts:notifications")

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form: NotificationSettingsForm) -> Any:
        user: User = self.request.user  # type: ignore[assignment]
        set_email_preferences(
            user=user, enabled=[kind for kind, on in form.cleaned_data.items() if on]
        )
        messages.success(self.request, "Your email settings are saved.")
        return super().form_valid(form)
