from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Cases"


class CasebookAdminConfig(AdminConfig):
    """Django's admin, with Casebook's site (cases.admin_site) as the default one."""

    default_site = "cases.admin_site.CasebookAdminSite"
