"""
The API's serializers of webhook subscriptions and their delivery log.

A subscription's secret is write-only: it is answered once, when the API made
it up at creation, and never again.
"""

from typing import Any
from urllib.parse import urlsplit

from rest_framework import serializers

from accounts.models import Organization
from cases.serializers import InputSerializer
from notifications.models import WebhookEventKind


def _http_url(value: str) -> None:
    if urlsplit(value).scheme.lower() not in ("http", "https"):
        raise serializers.ValidationError("Enter an http:// or https:// URL.")


# Output -------------------------------------------------------------------


class WebhookSubscriptionSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    url = serializers.URLField(read_only=True)
    # Plain strings on output: the kinds' enum is documented once, on input.
    event_kinds = serializers.ListField(child=serializers.CharField(), read_only=True)
    organization = serializers.CharField(
        source="organization.slug",
        read_only=True,
        allow_null=True,
        help_text="The organization of a customer-side integration; null for the vendor's own.",
    )
    is_active = serializers.BooleanField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class WebhookSubscriptionCreatedSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="Answered only here, once: keep it to verify each delivery's signature.",
    )


class WebhookAttemptSerializer(serializers.Serializer[Any]):
    number = serializers.IntegerField(read_only=True)
    at = serializers.DateTimeField(read_only=True)
    status_code = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Null when no HTTP answer came back."
    )
    error = serializers.CharField(read_only=True)
    duration_ms = serializers.IntegerField(read_only=True)


class WebhookDeliverySerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(read_only=True)
    event_id = serializers.UUIDField(read_only=True)
    kind = serializers.CharField(read_only=True, help_text="The event, e.g. `case.created`.")
    state = serializers.CharField(read_only=True)
    occurred_at = serializers.DateTimeField(read_only=True)
    attempt_count = serializers.IntegerField(read_only=True)
    last_status_code = serializers.IntegerField(read_only=True, allow_null=True)
    next_attempt_at = serializers.DateTimeField(read_only=True, allow_null=True)
    delivered_at = serializers.DateTimeField(read_only=True, allow_null=True)
    redelivery_of = serializers.IntegerField(
        source="redelivery_of_id",
        read_only=True,
        allow_null=True,
        help_text="The delivery this one sends again.",
    )
    created_at = serializers.DateTimeField(read_only=True)
    attempts = WebhookAttemptSerializer(many=True, read_only=True)


# Input --------------------------------------------------------------------


class WebhookSubscriptionCreateSerializer(InputSerializer):
    name = serializers.CharField(max_length=100)
    url = serializers.URLField(max_length=500, validators=[_http_url])
    secret = serializers.CharField(
        min_length=16,
        max_length=200,
        required=False,
        write_only=True,
        trim_whitespace=False,
        help_text="Made up (and answered once) when not given.",
    )
    event_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEventKind.choices), allow_empty=False
    )
    organization = serializers.SlugRelatedField[Organization](
        slug_field="slug",
        queryset=Organization.objects.all(),
        required=False,
        allow_null=True,
        help_text="An organization's slug for a customer-side integration: its cases only.",
    )
    is_active = serializers.BooleanField(required=False, default=True)

    def validate_event_kinds(self, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class WebhookSubscriptionUpdateSerializer(WebhookSubscriptionCreateSerializer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("partial", True)
        super().__init__(*args, **kwargs)
