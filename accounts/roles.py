"""The permissions of each role of SPEC section 1, kept as Django groups."""

from typing import TYPE_CHECKING

from accounts.models import Role

if TYPE_CHECKING:
    from django.contrib.auth.models import Group

    from accounts.models import User

# (app_label, codename) pairs per role.
ROLE_PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    Role.CUSTOMER: [
        ("cases", "add_case"),
        ("cases", "comment_case"),
        ("cases", "close_case"),
        ("cases", "reopen_case"),
    ],
    Role.SUPPORT: [
        ("cases", "view_case"),
        ("cases", "add_case"),
        ("cases", "change_case"),
        ("cases", "view_all_cases"),
        ("cases", "file_for_customer"),
        ("cases", "reclassify_case"),
        ("cases", "acknowledge_case"),
        ("cases", "request_info_case"),
        ("cases", "escalate_case"),
        ("cases", "schedule_fix_case"),
        ("cases", "resolve_case"),
        ("cases", "close_case"),
        ("cases", "reopen_case"),
        ("cases", "assign_case"),
        ("cases", "comment_case"),
        ("cases", "add_internal_note"),
        ("cases", "view_comment"),
        ("cases", "view_caseevent"),
        ("cases", "view_attachment"),
        ("cases", "view_release"),
        ("cases", "add_release"),
        ("cases", "change_release"),
        ("cases", "publish_release"),
        ("cases", "view_knowledgearticle"),
        ("cases", "add_knowledgearticle"),
        ("cases", "change_knowledgearticle"),
        ("accounts", "view_organization"),
        ("accounts", "view_user"),
        ("notifications", "view_webhooksubscription"),
        ("notifications", "add_webhooksubscription"),
        ("notifications", "change_webhooksubscription"),
        ("notifications", "delete_webhooksubscription"),
    ],
    Role.ENGINEERING: [
        ("cases", "view_case"),
        ("cases", "view_all_cases"),
        ("cases", "request_info_case"),
        ("cases", "schedule_fix_case"),
        ("cases", "add_internal_note"),
        ("cases", "view_comment"),
        ("cases", "view_caseevent"),
        ("cases", "view_attachment"),
        ("cases", "view_release"),
        ("cases", "add_release"),
        ("cases", "change_release"),
        ("cases", "publish_release"),
        ("cases", "view_knowledgearticle"),
        ("accounts", "view_organization"),
        ("accounts", "view_user"),
    ],
}


def role_group(role: str) -> "Group":
    """Return the group of `role`, creating it with its permissions if it is missing."""
    from django.contrib.auth.models import Group, Permission

    group, created = Group.objects.get_or_create(name=role)
    if created:
        group.permissions.set(
            [
                Permission.objects.get(content_type__app_label=app, codename=codename)
                for app, codename in ROLE_PERMISSIONS[role]
            ]
        )
    return group


def assign_role(user: "User", role: str) -> None:
    """Put `user` in the group of `role` (and in no other role's group)."""
    from django.contrib.auth.models import Group

    user.groups.remove(*Group.objects.filter(name__in=Role.values).exclude(name=role))
    user.groups.add(role_group(role))
    # Django caches permissions on the instance; forget them now they changed.
    for cache in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cache, None)


def role_of(user: "User") -> str | None:
    """Return the role of `user`: customer for anyone in an organization, else their staff group."""
    if user.organization_id is not None:
        return Role.CUSTOMER
    names = {group.name for group in user.groups.all()}
    for role in (Role.SUPPORT, Role.ENGINEERING):
        if role in names:
            return role
    return None
