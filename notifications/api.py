"""
The REST API of webhook subscriptions and their delivery log (staff only).

A subscription can point at any organization's cases, so customers are told
nothing of them: every URL here is a 404 to a customer, never a 403.
"""

import secrets

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from notifications.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from notifications.serializers import (
    WebhookDeliverySerializer,
    WebhookSubscriptionCreatedSerializer,
    WebhookSubscriptionCreateSerializer,
    WebhookSubscriptionSerializer,
    WebhookSubscriptionUpdateSerializer,
)
from portal.api import CursorPagination, ThrottledFirst

SUBSCRIPTION_ID = OpenApiParameter("id", int, OpenApiParameter.PATH)

# The model permission each action needs, besides being staff.
ACTION_PERMISSIONS = {
    "list": "view",
    "retrieve": "view",
    "deliveries": "view",
    "create": "add",
    "partial_update": "change",
    "destroy": "delete",
}


class WebhookSubscriptionViewSet(ThrottledFirst, viewsets.GenericViewSet[WebhookSubscription]):
    """Webhook subscriptions: staff add, read, edit and remove them and read their deliveries."""

    serializer_class = WebhookSubscriptionSerializer
    pagination_class = CursorPagination
    parser_classes = [JSONParser]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    # Ids are whole numbers that fit the column; anything else is the API's JSON 404.
    lookup_value_regex = "[0-9]{1,18}"
    # Read by portal.api.CasebookAutoSchema: customers get 404 on the collection too.
    error_statuses = {"list": (404,), "create": (404,)}

    def check_permissions(self, request: Request) -> None:
        super().check_permissions(request)
        user: User = request.user  # type: ignore[assignment]
        if not user.is_staff:
            raise Http404("There is no such URL in the API.")
        needed = ACTION_PERMISSIONS.get(self.action or "", "view")
        if not user.has_perm(f"notifications.{needed}_webhooksubscription"):
            raise PermissionDenied("You may not manage webhook subscriptions.")

    def get_queryset(self) -> QuerySet[WebhookSubscription]:
        return WebhookSubscription.objects.select_related("organization").order_by("pk")

    def get_subscription(self) -> WebhookSubscription:
        subscription = self.get_queryset().filter(pk=self.kwargs["pk"]).first()
        if subscription is None:
            raise Http404("No such webhook subscription.")
        return subscription

    @extend_schema(summary="List webhook subscriptions (staff)")
    def list(self, request: Request) -> Response:
        page = self.paginator.paginate_queryset(self.get_queryset(), request, view=self)  # type: ignore[union-attr]
        return self.get_paginated_response(WebhookSubscriptionSerializer(page, many=True).data)

    @extend_schema(
        summary="Add a webhook subscription (staff)",
        description=(
            "The secret signs every delivery. Send one, or leave it out and keep the one "
            "the answer holds: it is never shown again."
        ),
        request=WebhookSubscriptionCreateSerializer,
        responses={201: WebhookSubscriptionCreatedSerializer},
    )
    def create(self, request: Request) -> Response:
        serializer = WebhookSubscriptionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.setdefault("secret", secrets.token_hex(32))
        subscription = WebhookSubscription(**data)
        subscription.full_clean()
        subscription.save()
        return Response(
            WebhookSubscriptionCreatedSerializer(subscription).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(summary="Read a webhook subscription (staff)", parameters=[SUBSCRIPTION_ID])
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(WebhookSubscriptionSerializer(self.get_subscription()).data)

    @extend_schema(
        summary="Edit a webhook subscription (staff)",
        description="Send only the fields to change; a new `secret` replaces the old one.",
        request=WebhookSubscriptionUpdateSerializer,
        responses={200: WebhookSubscriptionSerializer},
        parameters=[SUBSCRIPTION_ID],
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        subscription = self.get_subscription()
        serializer = WebhookSubscriptionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        for name, value in serializer.validated_data.items():
            setattr(subscription, name, value)
        subscription.full_clean()
        subscription.save()
        return Response(WebhookSubscriptionSerializer(subscription).data)

    @extend_schema(
        summary="Remove a webhook subscription and its delivery log (staff)",
        responses={204: None},
        parameters=[SUBSCRIPTION_ID],
    )
    def destroy(self, request: Request, pk: str) -> Response:
        self.get_subscription().delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="The delivery log of a webhook subscription, newest first (staff)",
        description="Each delivery with its attempts and the status code each one got.",
        responses={200: WebhookDeliverySerializer(many=True)},
        parameters=[SUBSCRIPTION_ID],
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str) -> Response:
        subscription = self.get_subscription()
        deliveries = (
            WebhookDelivery.objects.filter(subscription=subscription)
            .order_by("-created_at", "-pk")
            .prefetch_related(
                Prefetch("attempts", queryset=WebhookAttempt.objects.order_by("number"))
            )
        )
        page = self.paginator.paginate_queryset(deliveries, request, view=self)  # type: ignore[union-attr]
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)
