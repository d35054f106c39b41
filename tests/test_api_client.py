"""The published schema is good enough to generate a working client from it."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from accounts.models import ApiToken, User
from cases.models import Case, CaseEvent, Comment, EventKind

CLI = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "casebook_client"


@pytest.fixture(scope="module")
def generated_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Generate a client package from our schema file, offline, into a temporary folder."""
    folder = tmp_path_factory.mktemp("generated")
    schema = folder / "schema.json"
    call_command("spectacular", "--file", str(schema), "--format", "openapi-json")
    config = folder / "config.yaml"
    config.write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n")
    result = subprocess.run(
        [
            str(CLI),
            "generate",
            "--path",
            str(schema),
            "--output-path",
            str(folder / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


@pytest.fixture
def _in_process_server() -> Iterator[None]:
    """Keep the database connection open across in-process requests, as Django's Client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def client_for(user: User) -> Any:
    """Return a generated client acting with a new token of `user`, served in-process."""
    from casebook_client import AuthenticatedClient

    _, key = ApiToken.issue(user=user, name="generated client")
    return AuthenticatedClient(
        base_url="http://testserver",
        token=key,
        raise_on_unexpected_status=True,
        httpx_args={"transport": httpx.WSGITransport(app=WSGIHandler())},
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("_in_process_server")
def test_generated_client_files_comments_lists_and_reclassifies(
    generated_client: Path, customer: User, support: User
) -> None:
    from casebook_client.api.cases import (
        cases_comments_create,
        cases_create,
        cases_list,
        cases_reclassify_create,
    )
    from casebook_client.models import (
        CaseCreateRequest,
        CaseTypeEnum,
        CommentCreateRequest,
        ReclassifyRequest,
    )

    mine = client_for(customer)
    created = cases_create.sync_detailed(
        client=mine,
        body=CaseCreateRequest(
            subject="Pool flaps", description="Health monitor flaps.", type_=CaseTypeEnum.ISSUE
        ),
        idempotency_key="gen-1",
    )
    assert created.status_code == 201, created.content
    number = created.parsed.number

    commented = cases_comments_create.sync_detailed(
        number, client=mine, body=CommentCreateRequest(body="Logs attached later.")
    )
    assert commented.status_code == 201, commented.content
    assert commented.parsed.body == "Logs attached later."

    listed = cases_list.sync(client=mine, page_size=10)
    assert [case.number for case in listed.results] == [number]
    assert listed.results[0].comment_count == 1

    refused = cases_reclassify_create.sync_detailed(
        number, client=mine, body=ReclassifyRequest(to=CaseTypeEnum.BUG, reason="I think so")
    )
    assert refused.status_code == 403
    assert refused.parsed.code == "permission_denied"

    reclassified = cases_reclassify_create.sync(
        number,
        client=client_for(support),
        body=ReclassifyRequest(to=CaseTypeEnum.BUG, reason="A defect in the health monitor"),
    )
    assert reclassified.type_ == CaseTypeEnum.BUG
    case = Case.objects.get()
    assert case.number == number
    assert case.type == "bug"
    assert Comment.objects.filter(case=case).count() == 1
    assert CaseEvent.objects.filter(case=case, kind=EventKind.RECLASSIFIED).count() == 1
