from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from notifications.models import (
    CaseFollower,
    InboundEmail,
    NotificationPreference,
    OutboundEmail,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEventKind,
    WebhookSubscription,
)
from notifications.webhooks import redeliver


class WebhookSubscriptionForm(forms.ModelForm[WebhookSubscription]):
    event_kinds = forms.MultipleChoiceField(
        choices=WebhookEventKind.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="The events sent to this URL.",
    )

    class Meta:
        model = WebhookSubscription
        fields = ["name", "url", "secret", "event_kinds", "organization", "is_active"]


def _redeliver_all(
    modeladmin: admin.ModelAdmin[Any], request: HttpRequest, deliveries: QuerySet[WebhookDelivery]
) -> None:
    count = 0
    for delivery in deliveries.select_related("subscription"):
        redeliver(delivery)
        count += 1
    modeladmin.message_user(request, f"Queued {count} redelivery(ies).", messages.SUCCESS)


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin[WebhookSubscription]):
    form = WebhookSubscriptionForm
    list_display = ["name", "url", "organization", "is_active", "created_at"]
    list_filter = ["is_active", "organization"]
    search_fields = ["name", "url"]
    actions = ["redeliver_failed"]

    @admin.action(description="Redeliver the failed deliveries of the selected subscriptions")
    def redeliver_failed(
        self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]
    ) -> None:
        failed = WebhookDelivery.objects.filter(
            subscription__in=queryset,
            state=WebhookDelivery.State.FAILED,
            redeliveries__isnull=True,
        )
        _redeliver_all(self, request, failed)


class WebhookAttemptInline(admin.TabularInline[WebhookAttempt, WebhookDelivery]):
    model = WebhookAttempt
    extra = 0
    fields = ["number", "at", "status_code", "error", "duration_ms", "response_excerpt"]
    readonly_fields = ["number", "at", "status_code", "error", "duration_ms", "response_excerpt"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin[WebhookDelivery]):
    list_display = [
        "created_at",
        "kind",
        "subscription",
        "state",
        "attempt_count",
        "last_status_code",
        "next_attempt_at",
    ]
    list_filter = ["state", "kind", "subscription"]
    list_select_related = ["subscription"]
    readonly_fields = [
        "subscription",
        "event_id",
        "kind",
        "case_event",
        "release",
        "occurred_at",
        "body",
        "state",
        "attempt_count",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
        "redelivery_of",
        "created_at",
    ]
    inlines = [WebhookAttemptInline]
    actions = ["redeliver_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Redeliver the selected deliveries")
    def redeliver_selected(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        _redeliver_all(self, request, queryset)


@admin.register(CaseFollower)
class CaseFollowerAdmin(admin.ModelAdmin[CaseFollower]):
    list_display = ["case", "user", "created_at"]
    raw_id_fields = ["case", "user"]


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin[NotificationPreference]):
    list_display = ["user", "kind", "enabled"]
    list_filter = ["kind", "enabled"]
    raw_id_fields = ["user"]


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin[OutboundEmail]):
    list_display = ["created_at", "kind", "recipient", "case", "state", "sent_at"]
    list_filter = ["kind", "state"]
    list_select_related = ["recipient", "case"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(InboundEmail)
class InboundEmailAdmin(admin.ModelAdmin[InboundEmail]):
    list_display = ["received_at", "sender", "subject", "outcome", "reason", "case"]
    list_filter = ["outcome"]
    search_fields = ["sender", "subject", "message_id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
