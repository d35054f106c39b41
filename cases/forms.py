"""Forms of the customer portal. They parse input; the services in `cases.services` decide."""

from html import escape
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.safestring import SafeString, mark_safe

from cases.models import CaseType, Severity, Status


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Any number of files (none is fine); the size limit is the service's to check."""

    widget = MultipleFileInput

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        if not data:
            return []
        files = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(item, initial) for item in files]


def _attrs(attrs: dict[str, Any]) -> str:
    """Return HTML attributes as Django's widget templates write them (escaped)."""
    return "".join(
        f" {name}" if value is True else f' {name}="{escape(str(value))}"'
        for name, value in attrs.items()
        if value is not False and value is not None
    )


class PlainSelect(forms.Select):
    """
    A select with the markup of Django's, written out in Python.

    The list page shows five of them on every request; through the template
    engine their options cost more than the page's table.
    """

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        options = "".join(
            f'\n  <option value="{escape(str(option["value"]))}"{_attrs(option["attrs"])}>'
            f"{escape(str(option['label']))}</option>\n"
            for _group, group_options, _index in widget["optgroups"]
            for option in group_options
        )
        name, attributes = escape(widget["name"]), _attrs(widget["attrs"])
        select = f'<select name="{name}"{attributes}>{options}</select>'
        return mark_safe(select)  # nosec B308 B703 - names, values and labels escaped above


class PortalForm(forms.Form):
    """A form whose labels carry no trailing colon (the layout sets them apart)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class CaseFileForm(PortalForm):
    subject = forms.CharField(
        max_length=200,
        help_text="One line: what is wrong, or what you want to know.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "dir": "auto"}),
    )
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 10, "dir": "auto"}),
        help_text=(
            "What happens, what you expected, and since when. Markdown works: "
            "**bold**, `code`, lists, and fenced blocks for logs."
        ),
    )
    type = forms.ChoiceField(
        choices=CaseType.choices,
        initial=CaseType.ISSUE,
        widget=forms.RadioSelect,
        help_text=(
            "Not sure? Choose Issue if you have trouble with the product, or Question "
            "if you want to know how to do something. Support reclassifies the case "
            "if needed and tells you why."
        ),
    )
    severity = forms.TypedChoiceField(
        choices=Severity.choices,
        coerce=int,
        initial=Severity.NOT_URGENT,
        widget=forms.RadioSelect,
    )
    product_version = forms.CharField(
        max_length=50,
        required=False,
        help_text="The version you run, e.g. 18.1.2.",
    )
    attachments = MultipleFileField(
        help_text="Logs, screenshots, configuration. You can choose several files."
    )


class CaseReplyForm(PortalForm):
    body = forms.CharField(
        label="Your reply",
        widget=forms.Textarea(attrs={"rows": 6, "dir": "auto"}),
        help_text="Markdown works.",
    )
    attachments = MultipleFileField(help_text="You can choose several files.")


class CaseCloseForm(PortalForm):
    """Closing needs no input: the button is the confirmation."""


class CaseReopenForm(PortalForm):
    reason = forms.CharField(
        label="Why reopen the case?",
        widget=forms.Textarea(attrs={"rows": 3, "dir": "auto"}),
        help_text="Support reads this first.",
    )


SCOPE_ALL = "all"
SCOPE_MINE = "mine"
PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 25


class CaseFilterForm(PortalForm):
    """The list's filters; anything invalid is ignored rather than refused."""

    q = forms.CharField(label="Search", required=False, max_length=200)
    type = forms.ChoiceField(
        choices=[("", "Any type"), *CaseType.choices], required=False, widget=PlainSelect
    )
    status = forms.ChoiceField(
        choices=[("", "Any status"), ("active", "Not closed"), *Status.choices],
        required=False,
        widget=PlainSelect,
    )
    severity = forms.TypedChoiceField(
        choices=[("", "Any severity"), *Severity.choices],
        coerce=int,
        empty_value=None,
        required=False,
        widget=PlainSelect,
    )
    scope = forms.ChoiceField(
        label="Show",
        choices=[(SCOPE_ALL, "All of my organization"), (SCOPE_MINE, "My cases")],
        required=False,
        widget=PlainSelect,
    )
    per_page = forms.TypedChoiceField(
        label="Per page",
        choices=[(n, str(n)) for n in PAGE_SIZES],
        coerce=int,
        initial=DEFAULT_PAGE_SIZE,
        empty_value=None,
        required=False,
        widget=PlainSelect,
    )

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        if data is not None and not data.get("per_page"):
            data = data.copy()
            data["per_page"] = str(DEFAULT_PAGE_SIZE)
        super().__init__(data, **kwargs)

    def filters(self) -> dict[str, Any]:
        """Return the valid filters, with invalid ones dropped."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {k: v for k, v in self.cleaned_data.items() if v not in ("", None)}
