"""Casebook's URLs plus the floor endpoints, mounted only in the benchmark's settings."""

from django.urls import include, path

from bench.floor import FloorCaseDetail, FloorCaseList

urlpatterns = [
    path("bench/floor/cases/", FloorCaseList.as_view(), name="bench-floor-list"),
    path("bench/floor/cases/<int:pk>/", FloorCaseDetail.as_view(), name="bench-floor-detail"),
    path("", include("portal.urls")),
]
