"""
The staff case list's page, written in Python.

Django's admin renders a change list through some twenty templates (the base
page, the header, the sidebar, one per filter, the search form, the actions,
the pagination) whose nodes took most of the page's time. ``render_page``
writes the same page, with the markup those templates write, from the same
context; ``tests/test_admin_cases.py`` compares the two. The sidebar, which
depends only on the user's permissions, the language and the path, is
written once per process for each of them.

A page this writer does not know (a popup, editable rows, a date hierarchy, a
nonce to write) is left to the templates: ``admin/cases/case/change_list_django.html``.
"""

import contextvars
import datetime
import functools
import html
import re
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib.admin import ListFilter
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.views.main import ALL_VAR, IS_FACETS_VAR, PAGE_VAR, SEARCH_VAR  # type: ignore[attr-defined]
from django.template import Context
from django.template.defaultfilters import capfirst, iriencode
from django.template.loader import get_template
from django.templatetags.static import static
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils import dateformat, timezone
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, get_language_bidi, gettext, ngettext

from cases.admin_list import CaseChangeList

# The templates whose markup the filters' writer knows; any other is rendered.
FILTER_TEMPLATE = "admin/filter.html"
ORGANIZATION_FILTER_TEMPLATE = "admin/cases/case/organization_filter.html"


# The language of the page being written (render_page), for _gettext().
_PAGE_LANGUAGE: contextvars.ContextVar[tuple[str | None] | None] = contextvars.ContextVar(
    "case_list_page_language", default=None
)
_TRANSLATED: dict[tuple[str | None, str], str] = {}


def _gettext(message: str) -> str:
    """``gettext(message)``, looked up once per process for each language of a page."""
    page = _PAGE_LANGUAGE.get()
    if page is None:
        return gettext(message)
    key = (page[0], message)
    text = _TRANSLATED.get(key)
    if text is None:
        text = gettext(message)
        if len(_TRANSLATED) >= 4096:
            _TRANSLATED.clear()
        _TRANSLATED[key] = text
    return text


def can_render(context: Context) -> bool:
    """Return whether `render_page` writes this page; if not, the templates do."""
    cl = context.get("cl")
    return (
        isinstance(cl, CaseChangeList)
        and not context.get("is_popup")
        and not cl.is_popup
        and cl.formset is None
        and not cl.list_editable
        and not cl.date_hierarchy
        and context.get("csp_nonce") is None
        and context.get("is_nav_sidebar_enabled") is True
        and context.get("has_permission") is True
    )


def _e(value: Any) -> str:
    """``{{ value }}``: escaped unless safe (``conditional_escape``, without its lazy wrappers)."""
    if type(value) is str:
        return html.escape(value)
    return str(conditional_escape(value))


_URLS: dict[tuple[Any, ...], str | None] = {}


def _reverse(name: str, **kwargs: str) -> str:
    """
    Return ``reverse(name, kwargs=kwargs)``, worked out once per process.

    A URL depends only on its name and arguments, the URLconf, the script
    prefix and (with i18n_patterns) the language: the key.
    """
    key = (
        name,
        tuple(sorted(kwargs.items())),
        get_urlconf() or settings.ROOT_URLCONF,
        get_script_prefix(),
        get_language(),
    )
    try:
        url = _URLS[key]
    except KeyError:
        try:
            url = reverse(name, kwargs=kwargs or None)
        except NoReverseMatch:
            url = None
        if len(_URLS) >= 256:
            _URLS.clear()
        _URLS[key] = url
    if url is None:
        raise NoReverseMatch(f"Reverse for '{name}' not found.")
    return url


# What ``iri_to_uri`` (the iriencode filter) leaves as it is.
_IRI_SAFE = re.compile(r"[A-Za-z0-9_.\-~/#%\[\]=:;$&()+,!?*@']*")


def _iriencode(value: str) -> str:
    """``{{ value|iriencode }}``, at once for a URL already quoted."""
    if _IRI_SAFE.fullmatch(value):
        return value
    return str(iriencode(value))


def render_page(context: Context) -> SafeString:
    page = _PAGE_LANGUAGE.set((get_language(),))
    try:
        return _render_page(context)
    finally:
        _PAGE_LANGUAGE.reset(page)


def _render_page(context: Context) -> SafeString:
    cl: CaseChangeList = context["cl"]
    request = context["request"]
    user = context["user"]
    language = get_language()
    bidi = get_language_bidi()
    parts: list[str] = []
    add = parts.append
    title = context.get("title")
    subtitle = context.get("subtitle")
    site_title = context.get("site_title") or _gettext("Django site admin")
    action_form = context.get("action_form")

    # base.html: <head>
    add(
        f'<!DOCTYPE html>\n\n<html lang="{_e(language or "en-us")}" '
        f'dir="{"rtl" if bidi else "ltr"}">\n<head>\n<title>'
    )
    if subtitle:
        add(f"{_e(subtitle)} | ")
    add(f"{_e(title)} | {_e(site_title)}</title>\n")
    add(_head(bidi, action_form is not None, context))
    add("</head>\n\n")

    # base.html: <body>, header
    add(
        f'<body class=" app-{cl.opts.app_label} model-{cl.opts.model_name} change-list"\n'
        f'  data-admin-utc-offset="{_e(_utc_offset())}"\n'
        f'  data-admin-server-timezone="{_e(timezone.get_current_timezone())}">\n'
        f'<a href="#content-start" class="skip-to-content-link">'
        f"{_gettext('Skip to main content')}</a>\n"
        f'<!-- Container -->\n<div id="container">\n\n    \n    <!-- Header -->\n    \n'
        f'      <header id="header">\n        <div id="branding">\n        \n'
        f'<div id="site-name"><a href="{_e(_reverse("admin:index"))}">'
        f"{_e(context.get('site_header') or _gettext('Django administration'))}</a></div>\n\n"
        f"        </div>\n        \n"
    )
    add(_user_tools(context, user))
    add("        \n        \n      </header>\n    \n    <!-- END Header -->\n    \n")
    add(
        f'      <nav aria-label="{_gettext("Breadcrumbs")}">\n        \n'
        f'<ol class="breadcrumbs">\n'
        f'<li><a href="{_e(_reverse("admin:index"))}">{_gettext("Home")}</a></li>\n'
        f'<li><a href="{_e(_reverse("admin:app_list", app_label=cl.opts.app_label))}">'
        f"{_e(cl.opts.app_config.verbose_name)}</a></li>\n"
        f'<li aria-current="page">{_e(capfirst(str(cl.opts.verbose_name_plural)))}</li>\n</ol>\n\n'
        f"      </nav>\n    \n    \n\n"
    )

    # base.html: the sidebar and the content
    add('    <div class="main" id="main">\n      \n        \n')
    add(
        nav_sidebar(
            # An active superuser has every permission: none read for the key.
            frozenset() if user.is_superuser else frozenset(user.get_all_permissions()),
            user.is_superuser,
            user.is_active,
            user.is_staff,
            language,
            get_script_prefix(),
            request.path,
            context.get("available_apps"),
        )
    )
    add('\n        \n      \n      <main id="content-start" class="content" tabindex="-1">\n')
    add("        \n")
    add(_messages(context))
    add("        \n        <!-- Content -->\n")
    add('        <div id="content" class="">\n          <div class="titles-and-tools">\n')
    add('            <div class="titles">\n              \n              ')
    if title:
        add(f"<h1>{_e(title)}</h1>")
    add("\n              ")
    if subtitle:
        add(f"<h2>{_e(subtitle)}</h2>")
    add("\n            </div>\n            \n")
    add(_object_tools(context, cl))
    add("\n          </div>\n          \n")
    add(_content(context, cl, action_form))
    add('\n          \n          <br class="clear">\n        </div>\n')
    add("        <!-- END Content -->\n      </main>\n    </div>\n")
    add('    <footer id="footer"></footer>\n</div>\n<!-- END Container -->\n\n')
    add(_SVGS)
    add("\n\n</body>\n</html>\n")
    return mark_safe("".join(parts))  # nosec B308 B703 - every value above is escaped


def _utc_offset() -> str:
    """``{% now "Z" %}``: the current time zone's offset in seconds."""
    return dateformat.format(datetime.datetime.now(tz=timezone.get_current_timezone()), "Z")


def _link(path: str, attrs: str = "") -> str:
    return f'<link rel="stylesheet" href="{_e(static(path))}"{attrs} >'


def _head(bidi: bool, has_action_form: bool, context: Context) -> str:
    """The page's stylesheets and scripts, written once per process for each set of them."""
    media = context.get("media")
    actions = bool(context.get("actions_on_top") or context.get("actions_on_bottom"))
    key: tuple[Any, ...] = (get_script_prefix(), bidi, has_action_form, actions)
    if media is not None:
        # The lists the media merges (its merged order is a function of them), not
        # the merge itself, which sorted them on every page.
        key += (
            tuple(tuple((type(a), a) for a in assets) for assets in media._js_lists),
            tuple(
                tuple((m, tuple((type(a), a) for a in p)) for m, p in sorted(css.items()))
                for css in media._css_lists
            ),
        )
    try:
        return _cached_head(key, media)
    except TypeError:  # an asset that is no key: written each time
        return _write_head(bidi, has_action_form, actions, media)


_HEADS: dict[tuple[Any, ...], str] = {}


def _cached_head(key: tuple[Any, ...], media: Any) -> str:
    head = _HEADS.get(key)
    if head is None:
        _, bidi, has_action_form, actions = key[:4]
        head = _write_head(bidi, has_action_form, actions, media)
        if len(_HEADS) >= 64:
            _HEADS.clear()
        _HEADS[key] = head
    return head


def _write_head(bidi: bool, has_action_form: bool, actions: bool, media: Any) -> str:
    parts = [
        '<meta name="color-scheme" content="light dark" />\n',
        _link("admin/css/base.css"),
        "\n\n  ",
        _link("admin/css/dark_mode.css"),
        f'\n  <script src="{_e(static("admin/js/theme.js"))}" ></script>\n\n',
        "\n  ",
        _link("admin/css/nav_sidebar.css"),
        f'\n  <script src="{_e(static("admin/js/nav_sidebar.js"))}" defer ></script>\n\n',
        "\n  ",
        f'<link rel="stylesheet" href="{_e(static("admin-extra/casebook.css"))}">\n  ',
        _link("admin/css/changelists.css"),
        "\n  \n  ",
    ]
    if has_action_form:
        parts.append(f'\n    <script src="{_e(reverse("admin:jsi18n"))}" ></script>\n  ')
    parts.append("\n  ")
    if media is not None:
        parts.append("\n".join(media.render_css()))
    parts.append("\n  ")
    if not actions:
        parts.append(
            "\n    <style >\n      #changelist table thead th:first-child "
            "{width: inherit}\n    </style>\n  "
        )
    parts.append("\n\n")
    if bidi:
        parts.append(_link("admin/css/rtl.css"))
    parts.append("\n\n\n")
    if media is not None:
        parts.append("\n".join(media.render_js()))
    parts.append(
        f'\n<script src="{_e(static("admin/js/filters.js"))}" defer ></script>\n\n'
        '\n    <meta name="viewport" content="width=device-width, initial-scale=1.0">\n    '
    )
    parts.append(_link("admin/css/responsive.css"))
    parts.append("\n    ")
    if bidi:
        parts.append(_link("admin/css/responsive_rtl.css"))
    parts.append('\n\n<meta name="robots" content="NONE,NOARCHIVE">\n')
    return "".join(parts)


def _user_tools(context: Context, user: Any) -> str:
    parts = ['        <div id="user-tools">\n            \n']
    parts.append(
        f"                {_gettext('Welcome,')}\n"
        f"                <strong>{_e(user.get_short_name() or user.get_username())}</strong>.\n"
        "            \n            "
    )
    perms = context.get("perms")
    if perms is not None and "cases.view_all_cases" in perms:
        parts.append(f'<a href="{_e(_reverse("admin:cases_case_dashboard"))}">Dashboard</a> / ')
    parts.append("\n                ")
    site_url = context.get("site_url")
    if site_url:
        parts.append(
            f'\n                    <a href="{_e(site_url)}">{_gettext("View site")}</a> /\n'
            "                "
        )
    parts.append("\n                ")
    if user.is_active and user.is_staff:
        parts.append("\n                    \n                    ")
        try:
            docsroot = _reverse("django-admindocs-docroot")
        except NoReverseMatch:
            docsroot = ""
        if docsroot:
            parts.append(
                f'\n                        <a href="{_e(docsroot)}">'
                f"{_gettext('Documentation')}</a> /\n                    "
            )
        parts.append("\n                ")
    parts.append("\n                ")
    if user.has_usable_password():
        parts.append(
            f'\n                <a href="{_e(_reverse("admin:password_change"))}">'
            f"{_gettext('Change password')}</a> /\n                "
        )
    csrf = context.get("csrf_token")
    token = ""
    if csrf and csrf != "NOTPROVIDED":
        token = f'<input type="hidden" name="csrfmiddlewaretoken" value="{_e(csrf)}">'
    parts.append(
        f'\n                <form id="logout-form" method="post" '
        f'action="{_e(_reverse("admin:logout"))}">\n                    {token}\n'
        f'                    <button type="submit">{_gettext("Log out")}</button>\n'
        "                </form>\n                "
    )
    parts.append(_theme_toggle(get_language()))
    parts.append("\n            \n        </div>\n")
    return "".join(parts)


@functools.lru_cache(maxsize=32)
def _theme_toggle(language: str | None) -> str:
    return (
        '<button class="theme-toggle">\n'
        '  <span class="visually-hidden theme-label-when-auto">'
        f"{_gettext('Toggle theme (current theme: auto)')}</span>\n"
        '  <span class="visually-hidden theme-label-when-light">'
        f"{_gettext('Toggle theme (current theme: light)')}</span>\n"
        '  <span class="visually-hidden theme-label-when-dark">'
        f"{_gettext('Toggle theme (current theme: dark)')}</span>\n"
        '  <svg aria-hidden="true" class="theme-icon-when-auto">\n'
        '    <use xlink:href="#icon-auto" />\n  </svg>\n'
        '  <svg aria-hidden="true" class="theme-icon-when-dark">\n'
        '    <use xlink:href="#icon-moon" />\n  </svg>\n'
        '  <svg aria-hidden="true" class="theme-icon-when-light">\n'
        '    <use xlink:href="#icon-sun" />\n  </svg>\n'
        "</button>\n"
    )


def nav_sidebar(
    permissions: frozenset[str],
    is_superuser: bool,
    is_active: bool,
    is_staff: bool,
    language: str | None,
    script_prefix: str,
    path: str,
    available_apps: Any,
) -> str:
    """
    Return the sidebar (admin/nav_sidebar.html) for the apps the user may see.

    The app list is a function of the user's permissions (every ModelAdmin of
    Casebook decides from them alone), the language, the script prefix and the
    path, the key of the sidebar written once per process. `available_apps`
    is the list the admin worked out for this request.
    """
    key = (permissions, is_superuser, is_active, is_staff, language, script_prefix, path)
    cached = _SIDEBARS.get(key)
    if cached is None:
        cached = _write_sidebar(available_apps, path)
        if len(_SIDEBARS) >= 256:
            _SIDEBARS.clear()
        _SIDEBARS[key] = cached
    return cached


_SIDEBARS: dict[tuple[Any, ...], str] = {}


def _write_sidebar(apps: Sequence[dict[str, Any]] | None, path: str) -> str:
    quoted = _urlencode_path(path)
    parts = [
        '<button class="sticky toggle-nav-sidebar" id="toggle-nav-sidebar" '
        f'aria-label="{_gettext("Toggle navigation")}"></button>\n'
        f'<nav class="sticky" id="nav-sidebar" aria-label="{_gettext("Sidebar")}">\n'
        '  <input type="search" id="nav-filter"\n'
        f'         placeholder="{_gettext("Start typing to filter…")}"\n'
        f'         aria-label="{_gettext("Filter navigation items")}">\n  \n\n'
    ]
    if not apps:
        parts.append(
            f"  <p>{_gettext('You don\u2019t have permission to view or edit anything.')}</p>\n"
        )
    for app in apps or ():
        label = app["app_label"]
        current = " current-app" if app["app_url"] in quoted else ""
        parts.append(
            f'  \n    <div class="app-{_e(label)} module{current}">\n      <table>\n'
            f'        <caption>\n          <a href="{_e(app["app_url"])}" class="section">'
            f"{_e(app['name'])}</a>\n        </caption>\n"
            '        <thead class="visually-hidden">\n          <tr>\n'
            f'            <th scope="col">{_gettext("Model name")}</th>\n'
            f'            <th scope="col">{_gettext("Add link")}</th>\n'
            f'            <th scope="col">{_gettext("Change or view list link")}</th>\n'
            "          </tr>\n        </thead>\n        "
        )
        for model in app["models"]:
            name = _e(model["object_name"].lower())
            admin_url = model.get("admin_url")
            here = bool(admin_url) and admin_url in quoted
            parts.append(
                f'\n          \n            <tr class="model-{name}'
                f'{" current-model" if here else ""}">\n'
                f'              <th scope="row" id="{_e(label)}-{name}">\n                '
            )
            if admin_url:
                parts.append(
                    f'\n                  <a href="{_e(admin_url)}"'
                    f"{' aria-current="page"' if here else ''}>{_e(model['name'])}</a>\n"
                    "                "
                )
            else:
                parts.append(f"\n                  {_e(model['name'])}\n                ")
            parts.append("\n              </th>\n\n              ")
            if model.get("add_url"):
                parts.append(
                    f'\n                <td><a href="{_e(model["add_url"])}" class="addlink" '
                    f'aria-describedby="{_e(label)}-{name}">{_gettext("Add")}</a></td>\n'
                    "              "
                )
            else:
                parts.append("\n                <td></td>\n              ")
            parts.append("\n\n              \n            </tr>\n          \n        ")
        parts.append("\n      </table>\n    </div>\n  ")
    parts.append("\n\n</nav>\n")
    return "".join(parts)


def _urlencode_path(path: str) -> str:
    from django.template.defaultfilters import urlencode as urlencode_filter

    return str(urlencode_filter(path))


def _messages(context: Context) -> str:
    messages = context.get("messages")
    if not messages:
        return "          \n        \n"
    items = []
    for message in messages:
        tags = f' class="{_e(message.tags)}"' if message.tags else ""
        items.append(f"\n              <li{tags}>{_e(capfirst(message))}</li>\n            ")
    return (
        '          \n            <ul class="messagelist">'
        + "".join(items)
        + "</ul>\n          \n        \n"
    )


def _object_tools(context: Context, cl: CaseChangeList) -> str:
    parts = ['<ul class="object-tools">\n  \n    \n\n']
    if context.get("has_add_permission"):
        url = _reverse(f"admin:{cl.opts.app_label}_{cl.opts.model_name}_add")
        url = add_preserved_filters(
            {"preserved_filters": context.get("preserved_filters") or "", "opts": cl.opts}, url
        )
        name = _gettext("Add %(name)s") % {"name": _e(cl.opts.verbose_name)}
        parts.append(
            f'  \n  <li>\n    \n    <a href="{_e(url)}" class="addlink">\n'
            f"      {name}\n    </a>\n  </li>\n  \n"
        )
    parts.append("\n\n  \n</ul>\n")
    return "".join(parts)


def _content(context: Context, cl: CaseChangeList, action_form: Any) -> str:
    parts = ['  <div id="content-main">\n    \n']
    filtered = " filtered" if cl.has_filters else ""
    parts.append(
        f'    <div class="module{filtered}" id="changelist">\n'
        '      <div class="changelist-form-container">\n        \n'
    )
    if cl.has_filters:
        parts.append(_filters(cl))
    parts.append("\n        \n        <div>\n          ")
    parts.append(_search_form(cl))
    parts.append("\n          \n\n          ")
    csrf = context.get("csrf_token")
    token = ""
    if csrf and csrf != "NOTPROVIDED":
        token = f'<input type="hidden" name="csrfmiddlewaretoken" value="{_e(csrf)}">'
    parts.append(f'<form id="changelist-form" method="post" novalidate>{token}\n          \n\n')
    show_actions = action_form is not None and cl.show_admin_actions
    parts.append("          \n  ")
    if show_actions and context.get("actions_on_top"):
        parts.append(_actions(context, cl, action_form, 0))
    parts.append("\n  ")
    parts.append(_results(cl))
    parts.append("\n  ")
    if show_actions and context.get("actions_on_bottom"):
        index = 1 if context.get("actions_on_top") else 0
        parts.append(_actions(context, cl, action_form, index))
    parts.append("\n\n          \n")
    parts.append('            <div class="changelist-footer">\n            ')
    parts.append(_pagination(cl))
    parts.append("\n            \n            </div>\n          \n")
    parts.append("          </form>\n        </div>\n      </div>\n    </div>\n  </div>\n")
    return "".join(parts)


def _filters(cl: CaseChangeList) -> str:
    parts = [
        '          <search id="changelist-filter" aria-labelledby="changelist-filter-header">\n'
        f'            <h2 id="changelist-filter-header">{_gettext("Filter")}</h2>\n            '
    ]
    if cl.is_facets_optional or cl.has_active_filters:
        parts.append('<div id="changelist-filter-extra-actions">\n              ')
        if cl.is_facets_optional:
            parts.append("<h3>\n                ")
            if cl.add_facets:
                parts.append(
                    f'<a href="{_e(cl.remove_facet_link)}" class="hidelink">'
                    f"{_gettext('Hide counts')}</a>"
                )
            else:
                parts.append(
                    f'<a href="{_e(cl.add_facet_link)}" class="viewlink">'
                    f"{_gettext('Show counts')}</a>"
                )
            parts.append("\n              </h3>")
        parts.append("\n              ")
        if cl.has_active_filters:
            parts.append(
                f'<h3>\n                <a href="{_e(cl.clear_all_filters_qs)}">&#10006; '
                f"{_gettext('Clear all filters')}</a>\n              </h3>"
            )
        parts.append("\n            </div>")
    parts.append("\n            ")
    for spec in cl.filter_specs:
        parts.append(_filter(cl, spec))
    parts.append("\n          </search>\n          ")
    return "".join(parts)


def _filter(cl: CaseChangeList, spec: ListFilter) -> str:
    choices = list(spec.choices(cl))
    template = getattr(spec, "template", FILTER_TEMPLATE)
    if template not in (FILTER_TEMPLATE, ORGANIZATION_FILTER_TEMPLATE):
        return str(
            get_template(template).render({"title": spec.title, "choices": choices, "spec": spec})
        )
    title = _e(spec.title)
    by = _gettext(" By %(filter_title)s ") % {"filter_title": title}
    parts = [
        f'<details data-filter-title="{title}" open>\n'
        f"  <summary>\n    {by}\n  </summary>\n  <ul>\n  "
    ]
    for choice in choices:
        selected = ' class="selected"' if choice.get("selected") else ""
        parts.append(
            f"\n    <li{selected}>\n"
            f'    <a href="{_e(_iriencode(str(choice["query_string"])))}">'
            f"{_e(choice['display'])}</a></li>\n  "
        )
    if template == ORGANIZATION_FILTER_TEMPLATE:
        kept = "".join(
            f'<input type="hidden" name="{_e(name)}" value="{_e(value)}">'
            for name, value in getattr(spec, "kept", ())
        )
        parts.append(
            "\n  \n    <li>\n"
            '    <form method="get" class="cb-organization-filter">\n'
            f"      {kept}\n"
            '      <label for="cb-organization-filter" class="visually-hidden">'
            f"{_gettext('Organization')}</label>\n"
            f"      {_e(getattr(spec, 'widget', ''))}\n"
            f'      <input type="submit" value="{_gettext("Filter")}">\n'
            "    </form></li>\n"
        )
    parts.append("  </ul>\n</details>\n")
    return "".join(parts)


def _search_form(cl: CaseChangeList) -> str:
    if not cl.search_fields:
        return "\n"
    name = _gettext("Search %(name)s") % {"name": _e(cl.opts.verbose_name_plural)}
    help_text = cl.search_help_text
    described = ' aria-describedby="searchbar_helptext"' if help_text else ""
    parts = [
        '\n<div id="toolbar">\n'
        f'<h2 id="changelist-search-form" class="visually-hidden">{name}</h2>\n'
        '<form id="changelist-search" method="get" role="search" '
        'aria-labelledby="changelist-search-form">\n'
        "<div><!-- DIV needed for valid HTML -->\n"
        f'<label for="searchbar"><img src="{_e(static("admin/img/search.svg"))}" '
        'alt="Search"></label>\n'
        f'<input type="text" size="40" name="{SEARCH_VAR}" value="{_e(cl.query)}" '
        f'id="searchbar"{described}>\n'
        f'<input type="submit" value="{_gettext("Search")}">\n'
    ]
    if cl.result_count != cl.full_result_count:
        capped = _capped(cl)
        if capped:
            count = f"{capped} results"
        else:
            count = ngettext("%(counter)s result", "%(counter)s results", cl.result_count) % {
                "counter": cl.result_count
            }
        query = ""
        if cl.add_facets:
            query = IS_FACETS_VAR
        if cl.show_full_result_count:
            total = _gettext("%(full_result_count)s total") % {
                "full_result_count": cl.full_result_count
            }
        else:
            total = _gettext("Show all")
        parts.append(
            f'\n    <span class="small quiet">{count} (<a href="?{query}">{total}</a>)</span>\n'
        )
    parts.append("\n")
    for key, value in cl.params.items():
        parts.append("\n    ")
        if key != SEARCH_VAR:
            parts.append(f'<input type="hidden" name="{_e(key)}" value="{_e(value)}">')
        parts.append("\n")
    parts.append("\n</div>\n")
    if help_text:
        parts.append(
            '\n<br class="clear">\n'
            f'<div class="help" id="searchbar_helptext">{_e(help_text)}</div>\n'
        )
    parts.append("\n</form></div>\n\n")
    return "".join(parts)


@functools.lru_cache(maxsize=64)
def _action_fields(
    form_class: Any, choices: tuple[tuple[Any, Any], ...], language: str | None
) -> str:
    """The action form's fields, written by the form renderer once per choices and language."""
    form = form_class(auto_id=None)
    form.fields["action"].choices = list(choices)
    return "".join(
        f"<label>{_e(field.label)} {field}</label>" if field.label else str(field) for field in form
    )


def _actions(context: Context, cl: CaseChangeList, action_form: Any, index: int) -> str:
    choices = tuple((value, str(label)) for value, label in action_form.fields["action"].choices)
    fields = _action_fields(type(action_form), choices, get_language())  # type: ignore[arg-type]
    parts = [
        '<div class="actions">\n  \n    \n    ',
        fields,
        "\n    \n    \n    "
        f'<button type="submit" class="button" name="index" value="{index}">'
        f"{_gettext('Run')}</button>\n    \n    \n    ",
    ]
    if context.get("actions_selection_counter"):
        shown = len(cl.result_list)
        parts.append(
            f'\n        <span class="action-counter" data-actions-icnt="{shown}" '
            'aria-live="polite" aria-atomic="true">'
            f"{_e(context.get('selection_note'))}</span>\n        "
        )
        if cl.result_count != shown:
            capped = _capped(cl)
            if capped:
                # Selected across the pages, an action runs on every matching case.
                select_all = f"Select all of the {capped} {_e(context.get('module_name'))}"
            else:
                select_all = _gettext("Select all %(total_count)s %(module_name)s") % {
                    "total_count": cl.result_count,
                    "module_name": _e(context.get("module_name")),
                }
            parts.append(
                f'\n        <span class="all hidden">{_e(context.get("selection_note_all"))}'
                "</span>\n"
                '        <span class="question hidden">\n'
                f'            <a role="button" href="#">{select_all}</a>\n'
                "        </span>\n"
                '        <span class="clear hidden"><a role="button" href="#">'
                f"{_gettext('Clear selection')}</a></span>\n        "
            )
        parts.append("\n    ")
    parts.append("\n    \n  \n</div>\n")
    return "".join(parts)


def _results(cl: CaseChangeList) -> str:
    rows = cl.rows
    if not rows:
        return "\n"
    remove = _gettext("Remove from sorting")
    toggle = _gettext("Toggle sorting")
    many = cl.num_sorted_fields > 1
    parts = ['\n<div class="results">\n<table id="result_list">\n<thead>\n<tr>\n']
    for header in cl.result_headers:
        parts.append(f'\n<th scope="col"{header["class_attrib"]}>\n   ')
        if header["sortable"] and header.get("sort_priority", 0) > 0:
            priority = header["sort_priority"]
            parts.append(
                '\n       <div class="sortoptions">\n'
                f'         <a class="sortremove" href="{_e(header["url_remove"])}" '
                f'title="{remove}"></a>\n         '
            )
            if many:
                label = _gettext("Sorting priority: %(priority_number)s") % {
                    "priority_number": priority
                }
                parts.append(f'<span class="sortpriority" title="{label}">{priority}</span>')
            direction = "ascending" if header["ascending"] else "descending"
            parts.append(
                f'\n         <a href="{_e(header["url_toggle"])}" class="toggle {direction}" '
                f'title="{toggle}"></a>\n       </div>\n   '
            )
        text = _e(capfirst(header["text"]))
        if header["sortable"]:
            inner = f'<a role="button" href="{_e(header["url_primary"])}">{text}</a>'
        else:
            inner = f"<span>{text}</span>"
        parts.append(f'\n   <div class="text">{inner}</div>\n   <div class="clear"></div>\n</th>')
    parts.append("\n</tr>\n</thead>\n<tbody>\n")
    for row in rows:
        parts.append(f"\n{row}\n")
    parts.append("\n</tbody>\n</table>\n</div>\n\n")
    return "".join(parts)


def _capped(cl: CaseChangeList) -> str:
    """
    Return "more than 1,000" if the paginator stopped counting (CappedCountPaginator), else "".

    Its count is then the cap and one more, not the number of matching cases.
    """
    more_than = getattr(cl.paginator, "more_than", None)
    return more_than() if more_than is not None else ""


def _pagination(cl: CaseChangeList) -> str:
    name = _gettext("Pagination %(name)s") % {"name": _e(cl.opts.verbose_name_plural)}
    required = (not cl.show_all or not cl.can_show_all) and cl.multi_page
    parts = [
        '<nav class="paginator" aria-labelledby="pagination">\n'
        f'    <h2 id="pagination" class="visually-hidden">{name}</h2>\n    '
    ]
    if required:
        parts.append("\n    <ul>\n    ")
        for i in cl.paginator.get_elided_page_range(cl.page_num):
            parts.append(f"\n        <li>{_paginator_number(cl, i)}</li>\n    ")
        parts.append("\n    </ul>\n    ")
    count = cl.result_count
    counted = _capped(cl) or str(count)
    noun = cl.opts.verbose_name if count == 1 else cl.opts.verbose_name_plural
    parts.append(f"\n{counted} {_e(noun)}\n")
    if cl.can_show_all and not cl.show_all and cl.multi_page:
        url = cl.get_query_string({ALL_VAR: ""})
        parts.append(f'<a href="{_e(url)}" class="showall">{_gettext("Show all")}</a>')
    parts.append("\n</nav>\n")
    return "".join(parts)


def _paginator_number(cl: CaseChangeList, i: int | str) -> str:
    """``paginator_number``: the link to page `i`, without format_html's steps."""
    if i == cl.paginator.ELLIPSIS:
        return f"{_e(i)} "
    if i == cl.page_num:
        return f'<a role="button" href="" aria-current="page">{_e(i)}</a> '
    return f'<a role="button" href="{_e(cl.get_query_string({PAGE_VAR: i}))}">{_e(i)}</a> '


_SVGS = (
    "<!-- SVGs -->\n"
    '<svg xmlns="http://www.w3.org/2000/svg" class="base-svgs">\n'
    '  <symbol viewBox="0 0 24 24" id="icon-auto"><path d="M0 0h24v24H0z" fill="curre'
    'ntColor"/><path d="M12 22C6.477 22 2 17.523 2 12S6.477 2 12 2s10 4.477 10 10-4.4'
    '77 10-10 10zm0-2V4a8 8 0 1 0 0 16z"/></symbol>\n'
    '  <symbol viewBox="0 0 24 24" id="icon-moon"><path d="M0 0h24v24H0z" fill="curre'
    'ntColor"/><path d="M10 7a7 7 0 0 0 12 4.9v.1c0 5.523-4.477 10-10 10S2 17.523 2 1'
    "2 6.477 2 12 2h.1A6.979 6.979 0 0 0 10 7zm-6 5a8 8 0 0 0 15.062 3.762A9 9 0 0 1 "
    '8.238 4.938 7.999 7.999 0 0 0 4 12z"/></symbol>\n'
    '  <symbol viewBox="0 0 24 24" id="icon-sun"><path d="M0 0h24v24H0z" fill="curren'
    'tColor"/><path d="M12 18a6 6 0 1 1 0-12 6 6 0 0 1 0 12zm0-2a4 4 0 1 0 0-8 4 4 0 '
    "0 0 0 8zM11 1h2v3h-2V1zm0 19h2v3h-2v-3zM3.515 4.929l1.414-1.414L7.05 5.636 5.636"
    " 7.05 3.515 4.93zM16.95 18.364l1.414-1.414 2.121 2.121-1.414 1.414-2.121-2.121zm"
    "2.121-14.85l1.414 1.415-2.121 2.121-1.414-1.414 2.121-2.121zM5.636 16.95l1.414 1"
    '.414-2.121 2.121-1.414-1.414 2.121-2.121zM23 11v2h-3v-2h3zM4 11v2H1v-2h3z"/></sy'
    "mbol>\n"
    "</svg>\n"
    "<!-- END SVGs -->"
)
