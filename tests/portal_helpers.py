"""Helpers shared by the portal's tests."""

from django.core.files.uploadedfile import SimpleUploadedFile


def upload(
    name: str, content: bytes, content_type: str = "application/octet-stream"
) -> SimpleUploadedFile:
    """Return an uploaded file as a browser would send it."""
    return SimpleUploadedFile(name, content, content_type=content_type)
