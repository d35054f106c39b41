from django.contrib import admin
from django.urls import include, path

from cases.urls import kb_patterns

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("cases.urls")),
    path("accounts/", include("accounts.urls")),
    path("kb/", include((kb_patterns, "kb"))),
]

# Email in (the mail gateway posts raw messages here).
from django.urls import include  # noqa: E402

urlpatterns += [path("", include("notifications.urls"))]
