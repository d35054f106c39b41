"""
The floor: the plainest Django REST framework endpoints over the case table.

A ``ListAPIView`` and a ``RetrieveAPIView`` with a ``ModelSerializer`` of every
column, no tenancy, no filters, no related objects: what any Django project gets
for free. Casebook's endpoints are measured against these in the same run.
"""

from rest_framework import generics, serializers
from rest_framework.pagination import CursorPagination

from cases.models import Case


class FloorCaseSerializer(serializers.ModelSerializer[Case]):
    class Meta:
        model = Case
        fields = "__all__"


class FloorPagination(CursorPagination):
    # Keyset like the product's lists: a page costs the same at any depth and
    # runs no COUNT(*), so the floor is not slowed down by the table's size.
    page_size = 25
    ordering = ("-updated_at", "-id")


class FloorCaseList(generics.ListAPIView[Case]):
    queryset = Case.objects.all()
    serializer_class = FloorCaseSerializer
    pagination_class = FloorPagination


class FloorCaseDetail(generics.RetrieveAPIView[Case]):
    queryset = Case.objects.all()
    serializer_class = FloorCaseSerializer
