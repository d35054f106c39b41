"""Let the support group manage webhook subscriptions (accounts.roles.ROLE_PERMISSIONS)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CODENAMES = [
    "view_webhooksubscription",
    "add_webhooksubscription",
    "change_webhooksubscription",
    "delete_webhooksubscription",
]


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    app_config = apps.get_app_config("notifications")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="support")
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="notifications", codename__in=CODENAMES)
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name="support"):
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="notifications", codename__in=CODENAMES
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("accounts", "0002_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
