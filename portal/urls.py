from django.contrib import admin
from django.urls import include, path

from cases.urls import kb_patterns
from portal import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api.urlpatterns())),
    path("", include("cases.urls")),
    path("accounts/", include("accounts.urls")),
    path("kb/", include((kb_patterns, "kb"))),
]

# Email in (the mail gateway posts raw messages here).
urlpatterns += [path("", include("notifications.urls"))]
