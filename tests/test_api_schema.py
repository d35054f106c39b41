"""The published OpenAPI schema and its docs."""

from typing import Any

import pytest
from django.test import Client

OPERATIONS = {
    ("/api/v1/cases/", "get"),
    ("/api/v1/cases/", "post"),
    ("/api/v1/cases/{number}/", "get"),
    ("/api/v1/cases/{number}/", "patch"),
    ("/api/v1/cases/{number}/reclassify/", "post"),
    ("/api/v1/cases/{number}/transitions/", "get"),
    ("/api/v1/cases/{number}/transitions/{name}/", "post"),
    ("/api/v1/cases/{number}/comments/", "get"),
    ("/api/v1/cases/{number}/comments/", "post"),
    ("/api/v1/cases/{number}/events/", "get"),
    ("/api/v1/cases/{number}/attachments/{attachment_id}/", "get"),
    ("/api/v1/releases/", "get"),
    ("/api/v1/releases/", "post"),
    ("/api/v1/releases/{version}/", "get"),
    ("/api/v1/releases/{version}/publish/", "post"),
    ("/api/v1/articles/", "get"),
    ("/api/v1/articles/", "post"),
    ("/api/v1/articles/{slug}/", "get"),
    ("/api/v1/me/", "get"),
    ("/api/v1/webhooks/", "get"),
    ("/api/v1/webhooks/", "post"),
    ("/api/v1/webhooks/{id}/", "get"),
    ("/api/v1/webhooks/{id}/", "patch"),
    ("/api/v1/webhooks/{id}/", "delete"),
    ("/api/v1/webhooks/{id}/deliveries/", "get"),
}


@pytest.fixture(scope="module")
def schema(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        response = Client().get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_schema_is_openapi_3_with_every_endpoint(schema: dict[str, Any]) -> None:
    assert schema["openapi"].startswith("3.")
    found = {(path, method) for path, ops in schema["paths"].items() for method in ops}
    assert found == OPERATIONS


def test_every_operation_documents_its_errors_in_the_error_shape(schema: dict[str, Any]) -> None:
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            expected = {"400", "401", "403", "429"}
            if "{" in path:
                expected.add("404")
            if path.endswith(("reclassify/", "{name}/")):
                expected |= {"409", "412"}
            if method == "patch" and path.startswith("/api/v1/cases/"):
                expected.add("412")
            if method == "post" and path in ("/api/v1/cases/", "/api/v1/cases/{number}/comments/"):
                expected.add("422")
            responses = operation["responses"]
            assert expected <= set(responses), (path, method)
            for status in expected:
                ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/Error", (path, method, status)


def test_type_and_status_are_read_only_in_every_request_body(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    for name, component in components.items():
        if name.endswith("Request") and name != "CaseCreateRequest":
            assert "type" not in component.get("properties", {}), name
        if name.endswith("Request"):
            assert "status" not in component.get("properties", {}), name


def test_the_docs_are_served_from_local_static_files(db: None) -> None:
    for url in ("/api/v1/docs/", "/api/v1/redoc/"):
        page = Client().get(url).content.decode()
        assert "drf_spectacular_sidecar" in page
        assert "cdn.jsdelivr" not in page
        assert "unpkg.com" not in page
