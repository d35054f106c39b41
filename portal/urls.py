from django.contrib import admin
from django.urls import path

urlpatterns = [
    path("admin/", admin.site.urls),
]

# Production readiness: health check for load balancers, two-factor sign-in for
# staff, and error answers that hold when the database is away.
from django.urls import include  # noqa: E402

from portal.health import healthz  # noqa: E402

urlpatterns += [
    path("healthz", healthz, name="healthz"),  # type: ignore[list-item]
    path("accounts/two-factor/", include("accounts.otp_views")),
]
handler400 = "portal.middleware.bad_request"
handler500 = "portal.middleware.server_error"
