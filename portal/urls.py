from django.contrib import admin
from django.urls import path

urlpatterns = [
    path("admin/", admin.site.urls),
]

# Email in (the mail gateway posts raw messages here).
from django.urls import include  # noqa: E402

urlpatterns += [path("", include("notifications.urls"))]
