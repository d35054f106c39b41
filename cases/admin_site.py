"""
Casebook's admin site: Django's, with each user's app list worked out once.

Every admin page's context (``AdminSite.each_context``) holds the apps and
models the user may see, for the sidebar: one permission check per model and
one URL reversed per model, on every page. What it holds depends only on the
user's permissions (no ModelAdmin of Casebook nor of its third-party apps
decides from anything else), the language of the names, and the URLs the
models' pages have; the list is built once per process for each of them and
each page is given its own copy.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import get_script_prefix, get_urlconf
from django.utils.translation import get_language

# More keys than this (many users each with their own permissions): start again.
APP_LISTS_LIMIT = 256


def permissions_key(user: Any) -> tuple[Any, ...]:
    """Return what a user's permission checks depend on, as a key."""
    if user.is_active and user.is_superuser:
        # An active superuser has every permission: none read for the key.
        return (True, True, user.is_staff, frozenset())
    return (
        user.is_active,
        user.is_superuser,
        user.is_staff,
        frozenset(user.get_all_permissions()),
    )


class CasebookAdminSite(admin.AdminSite):
    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
        self._app_lists: dict[tuple[Any, ...], list[dict[str, Any]]] = {}

    def register(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self._app_lists.clear()
        super().register(*args, **kwargs)

    def unregister(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self._app_lists.clear()
        super().unregister(*args, **kwargs)

    def get_app_list(
        self, request: HttpRequest, app_label: str | None = None
    ) -> list[dict[str, Any]]:
        key = (
            permissions_key(request.user),
            app_label,
            get_language(),
            get_script_prefix(),
            get_urlconf(),
        )
        apps = self._app_lists.get(key)
        if apps is None:
            apps = super().get_app_list(request, app_label)
            if len(self._app_lists) >= APP_LISTS_LIMIT:
                self._app_lists.clear()
            self._app_lists[key] = apps
        # A copy for each page, which may change its own.
        return [{**app, "models": [dict(model) for model in app["models"]]} for app in apps]
