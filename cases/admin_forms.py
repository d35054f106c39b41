"""Forms of the staff workspace: each gathers what one service call needs, nothing more."""

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile

from accounts.models import Organization, User
from cases.models import (
    RESOLUTIONS_BY_TYPE,
    Case,
    CaseType,
    KnowledgeArticle,
    Release,
    Resolution,
    Severity,
)


class VersionedForm(forms.Form):
    """A form that carries the version of the case the page showed, to refuse a stale page."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class CaseReclassifyForm(VersionedForm):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="The customer sees this reason in the case history.",
    )


# What each status transition asks for, beyond the case's version.
TRANSITION_FIELDS: dict[str, tuple[str, ...]] = {
    "acknowledge": (),
    "request_info": ("reason",),
    "escalate": ("reason",),
    "schedule_fix": ("release", "reason"),
    "resolve": ("resolution", "knowledge_article", "reason"),
    "close": (),
    "reopen": ("reason",),
}


class CaseTransitionForm(VersionedForm):
    """The input of one status transition; its fields depend on the transition."""

    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Shown to the customer in the case history.",
    )
    release = forms.ModelChoiceField(
        queryset=Release.objects.filter(released_on__isnull=True).order_by("version"),
        help_text="Only releases that are not yet published can carry a fix.",
    )
    resolution = forms.ChoiceField(choices=())
    knowledge_article = forms.ModelChoiceField(
        queryset=KnowledgeArticle.objects.published(),
        required=False,
        label="Knowledge article",
        help_text="Only for the “knowledge article” resolution.",
    )

    def __init__(self, *args: Any, case: Case, name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        wanted = {"version", *TRANSITION_FIELDS.get(name, ())}
        for field_name in list(self.fields):
            if field_name not in wanted:
                del self.fields[field_name]
        if "resolution" in self.fields:
            resolution_field = self.fields["resolution"]
            assert isinstance(resolution_field, forms.ChoiceField)
            resolution_field.choices = [
                (value, Resolution(value).label) for value in RESOLUTIONS_BY_TYPE[case.type]
            ]
        if name == "reopen":
            self.fields["reason"].required = True
            self.fields["reason"].help_text = "Say why the case is reopened; the customer sees it."
        if name == "request_info":
            self.fields["reason"].label = "What you need from the customer"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        if not data:
            return []
        files = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(item, initial) for item in files]


class CaseCommentForm(forms.Form):
    VISIBILITY_CHOICES = (
        ("public", "Public reply (the customer sees it)"),
        ("internal", "Internal note"),
    )

    body = forms.CharField(
        label="Message", widget=forms.Textarea(attrs={"rows": 5, "cols": 80}), help_text="Markdown."
    )
    visibility = forms.ChoiceField(choices=VISIBILITY_CHOICES, widget=forms.RadioSelect)
    attachments = MultipleFileField(required=False)

    def __init__(self, *args: Any, may_reply: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        visibility = self.fields["visibility"]
        assert isinstance(visibility, forms.ChoiceField)
        if not may_reply:
            # Engineering writes internal notes only; the service refuses a crafted public one.
            visibility.choices = [self.VISIBILITY_CHOICES[1]]
        self.initial.setdefault("visibility", "public" if may_reply else "internal")


def staff_users() -> Any:
    return User.objects.filter(is_staff=True, is_active=True).order_by("name", "email")


class StaffChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} <{obj.email}>" if obj.name else obj.email


class CaseAssignForm(forms.Form):
    assignee = StaffChoiceField(
        queryset=User.objects.none(), required=False, empty_label="Nobody (unassign)"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assignee = self.fields["assignee"]
        assert isinstance(assignee, forms.ModelChoiceField)
        assignee.queryset = staff_users()


class ReporterSelect(forms.Select):
    """A select whose options carry their customer's organization, for the form's small script."""

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        instance = getattr(option["value"], "instance", None)
        if instance is not None:
            option["attrs"]["data-organization"] = str(instance.organization_id)
        return option


class CustomerChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    widget = ReporterSelect

    def label_from_instance(self, obj: Any) -> str:
        name = obj.name or obj.email
        return f"{name} <{obj.email}> · {obj.organization.name}"


class CaseFileForm(forms.Form):
    """A case taken on the phone: support chooses the organization and the customer."""

    organization = forms.ModelChoiceField(queryset=Organization.objects.order_by("name"))
    reporter = CustomerChoiceField(
        queryset=User.objects.none(),
        label="Customer",
        help_text="The person who called; the case is filed in their name.",
    )
    subject = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 8, "cols": 80}))
    type = forms.ChoiceField(choices=CaseType.choices, initial=CaseType.ISSUE)
    severity = forms.TypedChoiceField(
        choices=Severity.choices, coerce=int, initial=Severity.NOT_URGENT
    )
    product_version = forms.CharField(max_length=50, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        reporter = self.fields["reporter"]
        assert isinstance(reporter, forms.ModelChoiceField)
        reporter.queryset = (
            User.objects.filter(organization__isnull=False, is_active=True)
            .select_related("organization")
            .order_by("organization__name", "name", "email")
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        organization, reporter = cleaned.get("organization"), cleaned.get("reporter")
        if organization and reporter and reporter.organization_id != organization.pk:
            self.add_error("reporter", f"{reporter.email} is not a member of {organization.name}.")
        return cleaned


class CaseArticleForm(forms.Form):
    """A knowledge article written from a question's case."""

    title = forms.CharField(max_length=200)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 14, "cols": 80}), help_text="Markdown."
    )
    published = forms.BooleanField(
        required=False, initial=True, help_text="Customers see published articles in /kb/."
    )
