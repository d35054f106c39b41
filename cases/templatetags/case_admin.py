"""The staff case list's page: written in Python when it can be (cases.admin_page)."""

from django import template
from django.template.loader import get_template
from django.utils.safestring import SafeString

from cases import admin_page

register = template.Library()


@register.simple_tag(takes_context=True)
def case_list_page(context: template.Context) -> SafeString:
    """Write the case list's page, or leave it to the admin's templates."""
    if admin_page.can_render(context):
        return admin_page.render_page(context)
    # The admin's own templates, with the list's rows (admin/cases/case/change_list_django.html).
    django_template = get_template("admin/cases/case/change_list_django.html")
    return django_template.template.render(context)  # type: ignore[attr-defined,no-any-return]
