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

# Production readiness: health check for load balancers, two-factor sign-in for
# staff, and error answers that hold when the database is away.
from portal.health import healthz  # noqa: E402

urlpatterns += [
    path("healthz", healthz, name="healthz"),  # type: ignore[list-item]
    path("accounts/two-factor/", include("accounts.otp_views")),
]
handler400 = "portal.middleware.bad_request"
handler500 = "portal.middleware.server_error"
