"""
The API's serializers: input serializers parse a request for a service, output
serializers render what the API answers. They are kept apart, and no serializer
writes `type` or `status`: those change only through the services.
"""

import copy
from typing import Any

from django.urls import reverse
from rest_framework import serializers

from accounts.models import User
from accounts.roles import role_of
from cases.models import (
    NUMBER_PREFIX,
    Attachment,
    Case,
    CaseType,
    Channel,
    Comment,
    EventKind,
    KnowledgeArticle,
    Release,
    Resolution,
    Severity,
    Status,
)

READ_ONLY_MESSAGES = {
    "type": "The type is read-only here; change it with POST …/reclassify/.",
    "status": "The status is read-only here; change it with POST …/transitions/<name>/.",
}


class InputSerializer(serializers.Serializer[Any]):
    """A request body: a field it does not name is an error, never silently dropped."""

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # Each serializer binds copies of the declared fields. A field holding
        # no other field keeps nothing of a request but that binding, so a
        # shallow copy does; deep copies cost as much as reading the request.
        return {
            name: copy.deepcopy(field)
            if isinstance(
                field, (serializers.ListField, serializers.DictField, serializers.BaseSerializer)
            )
            else copy.copy(field)
            for name, field in self._declared_fields.items()  # type: ignore[attr-defined]
        }

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "keys"):
            unknown = [name for name in data if name not in self.fields]
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: [READ_ONLY_MESSAGES.get(name, "This field cannot be set here.")]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)


# Output -------------------------------------------------------------------


class PersonSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField(read_only=True)
    name = serializers.CharField(read_only=True)


class OrganizationSerializer(serializers.Serializer[Any]):
    slug = serializers.SlugField(read_only=True)
    name = serializers.CharField(read_only=True)


class CaseSerializer(serializers.Serializer[Any]):
    """A case as the API shows it, with what a client needs to display it."""

    number = serializers.CharField(read_only=True, help_text="e.g. CASE-000123")
    type = serializers.ChoiceField(choices=CaseType.choices, read_only=True)
    status = serializers.ChoiceField(choices=Status.choices, read_only=True)
    subject = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True, help_text="Markdown.")
    severity = serializers.ChoiceField(choices=Severity.choices, read_only=True)
    product_version = serializers.CharField(read_only=True)
    channel = serializers.ChoiceField(choices=Channel.choices, read_only=True)
    organization = OrganizationSerializer(read_only=True)
    reporter = PersonSerializer(read_only=True)
    assignee = PersonSerializer(read_only=True, allow_null=True)
    target_release = serializers.CharField(
        source="target_release.version", read_only=True, allow_null=True
    )
    resolution = serializers.ChoiceField(
        choices=Resolution.choices, read_only=True, allow_blank=True
    )
    knowledge_article = serializers.CharField(
        source="knowledge_article.slug", read_only=True, allow_null=True
    )
    external_id = serializers.CharField(read_only=True, allow_null=True)
    comment_count = serializers.IntegerField(
        read_only=True, help_text="Comments this user can see."
    )
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    resolved_at = serializers.DateTimeField(read_only=True, allow_null=True)
    version = serializers.IntegerField(
        read_only=True, help_text="Bumped by every change; the ETag carries it."
    )

    def to_representation(self, case: Case) -> dict[str, Any]:
        """
        Return the fields declared above, written out (see `case_representation`).

        Going through the declared fields would copy and bind 22 field objects
        per serializer and look up each attribute through them; the output is
        the same, which tests/test_api_cases.py checks against DRF's own rendering.
        """
        assignee = case.assignee
        release = case.target_release
        article = case.knowledge_article
        organization = case.organization
        reporter = case.reporter
        row = {
            "id": case.pk,
            "type": case.type,
            "status": case.status,
            "subject": case.subject,
            "description": case.description,
            "severity": case.severity,
            "product_version": case.product_version,
            "channel": case.channel,
            "organization__slug": organization.slug,
            "organization__name": organization.name,
            "reporter__email": reporter.email,
            "reporter__name": reporter.name,
            "assignee_id": case.assignee_id,
            "assignee__email": None if assignee is None else assignee.email,
            "assignee__name": None if assignee is None else assignee.name,
            "target_release__version": None if release is None else release.version,
            "resolution": case.resolution,
            "knowledge_article__slug": None if article is None else article.slug,
            "external_id": case.external_id,
            "comment_count": case.comment_count,
            "public_comment_count": case.public_comment_count,
            "created_at": case.created_at,
            "updated_at": case.updated_at,
            "resolved_at": case.resolved_at,
            "version": case.version,
        }
        return case_representation(row, staff=self.context.get("staff", False))


# The columns a case's representation reads: what a list asks of values().
CASE_VALUES = (
    "id",
    "type",
    "status",
    "subject",
    "description",
    "severity",
    "product_version",
    "channel",
    "organization__slug",
    "organization__name",
    "reporter__email",
    "reporter__name",
    "assignee_id",
    "assignee__email",
    "assignee__name",
    "target_release__version",
    "resolution",
    "knowledge_article__slug",
    "external_id",
    "comment_count",
    "public_comment_count",
    "created_at",
    "updated_at",
    "resolved_at",
    "version",
)


def case_representation(row: dict[str, Any], *, staff: bool) -> dict[str, Any]:
    """
    Return a case as `CaseSerializer` shows it, from its `CASE_VALUES` columns.

    This is the API's hottest path (every case of every list): a list reads
    its page with ``values(*CASE_VALUES)`` and builds no model instance for a
    case or the five rows it embeds. Staff count internal notes among the
    comments; everyone else counts the public ones.
    """
    resolved_at = row["resolved_at"]
    return {
        "number": f"{NUMBER_PREFIX}{row['id']:06d}",
        "type": row["type"],
        "status": row["status"],
        "subject": row["subject"],
        "description": row["description"],
        "severity": row["severity"],
        "product_version": row["product_version"],
        "channel": row["channel"],
        "organization": {"slug": row["organization__slug"], "name": row["organization__name"]},
        "reporter": {"email": row["reporter__email"], "name": row["reporter__name"]},
        "assignee": None
        if row["assignee_id"] is None
        else {"email": row["assignee__email"], "name": row["assignee__name"]},
        "target_release": row["target_release__version"],
        "resolution": row["resolution"],
        "knowledge_article": row["knowledge_article__slug"],
        "external_id": row["external_id"],
        "comment_count": row["comment_count"] if staff else row["public_comment_count"],
        "created_at": _datetime(row["created_at"]),
        "updated_at": _datetime(row["updated_at"]),
        "resolved_at": None if resolved_at is None else _datetime(resolved_at),
        "version": row["version"],
    }


# DRF's own formatting of a datetime (ISO 8601 in the current time zone), for
# the representations written out by hand.
_datetime = serializers.DateTimeField().to_representation


class AttachmentSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True)
    content_type = serializers.CharField(read_only=True)
    url = serializers.SerializerMethodField()

    def get_url(self, attachment: Attachment) -> str:
        # The view passes the case: reading attachment.case would cost a query per file.
        case = self.context.get("case") or attachment.case
        path = reverse(
            "case-attachment", kwargs={"number": case.number, "attachment_id": attachment.pk}
        )
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class CommentSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(read_only=True)
    author = PersonSerializer(read_only=True)
    body = serializers.CharField(read_only=True, help_text="Markdown.")
    public = serializers.BooleanField(source="is_public", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    def to_representation(self, comment: Comment) -> dict[str, Any]:
        """Return the fields declared above, written out as CaseSerializer's are."""
        author = comment.author
        attachments = comment.attachments.all()
        return {
            "id": comment.pk,
            "author": {"email": author.email, "name": author.name},
            "body": comment.body,
            "public": comment.is_public,
            "created_at": _datetime(comment.created_at),
            "attachments": AttachmentSerializer(attachments, many=True, context=self.context).data
            if attachments
            else [],
        }


class EventSerializer(serializers.Serializer[Any]):
    """One line of the case's history."""

    id = serializers.IntegerField(read_only=True)
    at = serializers.DateTimeField(read_only=True)
    actor = PersonSerializer(
        read_only=True, allow_null=True, help_text="Null when the system acted."
    )
    kind = serializers.ChoiceField(choices=EventKind.choices, read_only=True)
    transition = serializers.CharField(read_only=True)
    from_value = serializers.CharField(read_only=True, source="from_value")
    to_value = serializers.CharField(read_only=True, source="to_value")
    reason = serializers.CharField(read_only=True)
    public = serializers.BooleanField(source="is_public", read_only=True)
    comment = serializers.IntegerField(source="comment_id", read_only=True, allow_null=True)
    data = serializers.DictField(read_only=True)  # type: ignore[assignment]

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        # "from" is a Python keyword; the JSON keeps the natural names.
        fields["from"] = fields.pop("from_value")
        fields["to"] = fields.pop("to_value")
        return fields


class TransitionChoiceSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(read_only=True)
    label = serializers.CharField(read_only=True)  # type: ignore[assignment]
    needs = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Body fields this transition needs (reason, release, resolution, …).",
    )


class AvailableTransitionsSerializer(serializers.Serializer[Any]):
    """What this user may do to the case now."""

    types = serializers.ListField(
        child=serializers.ChoiceField(choices=CaseType.choices),
        read_only=True,
        help_text="The types this user may reclassify the case as.",
    )
    transitions = TransitionChoiceSerializer(many=True, read_only=True)


class ReleaseSerializer(serializers.Serializer[Any]):
    version = serializers.CharField(read_only=True)
    released_on = serializers.DateField(read_only=True, allow_null=True)
    published = serializers.BooleanField(source="is_published", read_only=True)


class PublishedReleaseSerializer(ReleaseSerializer):
    resolved_cases = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Numbers of the cases the publication resolved.",
    )


class KnowledgeArticleSerializer(serializers.Serializer[Any]):
    slug = serializers.SlugField(read_only=True)
    title = serializers.CharField(read_only=True)
    body = serializers.CharField(read_only=True, help_text="Markdown.")
    published = serializers.BooleanField(source="is_published", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class MeSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField(read_only=True)
    name = serializers.CharField(read_only=True)
    role = serializers.SerializerMethodField()
    is_staff = serializers.BooleanField(read_only=True)
    organization = OrganizationSerializer(read_only=True, allow_null=True)

    def get_role(self, user: User) -> str | None:
        return role_of(user)


# Input --------------------------------------------------------------------


class CaseCreateSerializer(InputSerializer):
    subject = serializers.CharField(max_length=200)
    description = serializers.CharField(help_text="Markdown.")
    type = serializers.ChoiceField(
        choices=CaseType.choices,
        help_text="Recommended: issue (trouble with the product) or question (how do I…).",
    )
    severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.NOT_URGENT)
    product_version = serializers.CharField(max_length=50, allow_blank=True, default="")
    reporter = serializers.EmailField(
        required=False, help_text="Staff only: the customer the case is filed for."
    )
    channel = serializers.ChoiceField(
        choices=Channel.choices,
        default=Channel.API,
        help_text="Staff only, e.g. `phone` when logging a call; always `api` for customers.",
    )


class CaseUpdateSerializer(InputSerializer):
    subject = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, help_text="Markdown.")
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    product_version = serializers.CharField(max_length=50, allow_blank=True, required=False)


class ReclassifySerializer(InputSerializer):
    to = serializers.ChoiceField(choices=CaseType.choices)
    reason = serializers.CharField(
        allow_blank=True, help_text="Why; the customer sees it in the history."
    )


class TransitionSerializer(InputSerializer):
    reason = serializers.CharField(
        allow_blank=True, default="", help_text="Required to reopen; shown in the history."
    )
    release = serializers.SlugRelatedField(
        slug_field="version",
        queryset=Release.objects.all(),
        required=False,
        help_text="schedule_fix: the version of an unpublished release.",
    )
    resolution = serializers.ChoiceField(
        choices=Resolution.choices,
        required=False,
        help_text="resolve: a resolution the type allows.",
    )
    knowledge_article = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=KnowledgeArticle.objects.all(),
        required=False,
        help_text="resolve with kb_article: the slug of a published article.",
    )


class CommentCreateSerializer(InputSerializer):
    body = serializers.CharField(help_text="Markdown.")
    public = serializers.BooleanField(
        default=True, help_text="False for an internal note (staff only)."
    )
    attachments = serializers.ListField(child=serializers.FileField(), required=False, default=list)


class ReleaseCreateSerializer(InputSerializer):
    version = serializers.CharField(max_length=50)


class KnowledgeArticleCreateSerializer(InputSerializer):
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(help_text="Markdown.")
    slug = serializers.SlugField(max_length=100, required=False, default="")
    published = serializers.BooleanField(default=True)
    source_case = serializers.CharField(
        required=False, help_text="The number of the case this article answers."
    )
