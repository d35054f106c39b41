from django.contrib import admin
from django.urls import include, path

from portal import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api.urlpatterns())),
]
