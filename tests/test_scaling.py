"""Scaling out: read replicas for list pages only, stateless app servers."""

from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages
from django.test import Client, RequestFactory
from django.urls import ResolverMatch

from accounts.models import Organization
from cases.models import Case
from portal.routers import ReplicaReadsMiddleware, ReplicaRouter, replica_reads
from tests import factories

router = ReplicaRouter()


@pytest.fixture
def with_replica(monkeypatch: pytest.MonkeyPatch) -> None:
    # In place: the router reads the configured aliases, no connection is opened.
    monkeypatch.setitem(settings.DATABASES, "replica", settings.DATABASES["default"])


def test_without_a_replica_every_read_uses_the_default_database() -> None:
    assert "replica" not in settings.DATABASES
    with replica_reads():
        assert router.db_for_read(Case) is None
    assert router.db_for_read(Case) is None


def test_with_a_replica_only_list_reads_of_case_data_use_it(with_replica: None) -> None:
    assert router.db_for_read(Case) is None
    with replica_reads():
        assert router.db_for_read(Case) == "replica"
        # People and sessions stay on the primary: a lagging replica must not sign anyone out.
        assert router.db_for_read(Organization) is None
    assert router.db_for_read(Case) is None


def test_writes_and_migrations_never_go_to_the_replica(with_replica: None) -> None:
    with replica_reads():
        assert router.db_for_write(Case) is None
    assert router.allow_migrate("replica", "cases") is False
    assert router.allow_migrate("default", "cases") is True


def _through_middleware(method: str, view_name: str) -> str | None:
    seen: list[str | None] = []

    def view(request: Any) -> Any:
        seen.append(router.db_for_read(Case))
        from django.http import HttpResponse

        return HttpResponse()

    request = getattr(RequestFactory(), method.lower())("/")
    request.resolver_match = ResolverMatch(
        view,
        (),
        {},
        url_name=view_name.split(":")[-1],
        namespaces=list[str | None](view_name.split(":")[:-1]),
    )
    middleware = ReplicaReadsMiddleware(lambda r: view(r))
    middleware.process_view(request, view, (), {})
    middleware(request)
    assert router.db_for_read(Case) is None  # switched off after the response
    return seen[0]


def test_the_middleware_sends_get_requests_of_list_pages_to_the_replica(
    with_replica: None, settings: Any
) -> None:
    settings.CASEBOOK_REPLICA_VIEWS = ["cases:list"]
    assert _through_middleware("GET", "cases:list") == "replica"
    assert _through_middleware("POST", "cases:list") is None
    assert _through_middleware("GET", "cases:detail") is None


def test_the_middleware_does_nothing_without_a_replica(settings: Any) -> None:
    settings.CASEBOOK_REPLICA_VIEWS = ["cases:list"]
    assert _through_middleware("GET", "cases:list") is None


def test_replica_alias_is_configured_from_the_environment() -> None:
    import os
    import subprocess
    import sys

    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(sorted(settings.DATABASES), settings.DATABASES['replica']['HOST'])"
    )
    env = {**os.environ, "DATABASE_REPLICA_URL": "postgres://reader@replica.internal:5432/casebook"}
    env.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
    )
    assert result.stdout.split() == ["['default',", "'replica']", "replica.internal"]


@pytest.mark.django_db
def test_sessions_are_kept_in_the_database_not_on_the_app_server(
    client: Client, customer: Any
) -> None:
    from accounts.models import Session

    assert settings.SESSION_ENGINE == "accounts.sessions"
    client.force_login(customer)
    assert Session.objects.count() == 1


def test_attachments_go_through_the_configured_storage(settings: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    name = default_storage.save("attachments/x", ContentFile(b"bytes"))
    assert type(storages["default"]).__name__ == "InMemoryStorage"
    assert default_storage.open(name).read() == b"bytes"


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_prepares_a_statement_its_connection_runs_again() -> None:
    from django.db import connection

    def prepared() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return [statement for (statement,) in cursor.fetchall()]

    organization = Organization.objects.create(name="Prepared", slug="prepared")
    for _ in range(3):
        Case.objects.filter(organization=organization).count()
    assert any('"cases_case"."organization_id" = $1' in sql for sql in prepared())


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_search_walking_the_list_is_planned_once_per_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The words searched for are read in a subquery, so PostgreSQL's plan of the
    # walk does not depend on them and the connection keeps one generic plan,
    # instead of planning the statement again for every search.
    from django.db import connection

    from cases import search

    monkeypatch.setattr(search, "_is_common", lambda text: True)
    customer = factories.CustomerFactory.create()
    words = ["timeout", "crash", "login", "export"]
    for number in range(60):
        factories.file_case(reporter=customer, subject=f"A {words[number % 4]} in module {number}")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cases_case, cases_comment")
    for word in words * 2:
        list(search.search_cases(Case.objects.visible_to(customer), word)[:26])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE '%websearch_to_tsquery%'"
        )
        plans = cursor.fetchall()
    assert len(plans) == 1
    generic, custom = plans[0]
    assert generic >= 1
    assert custom <= 5


def test_prepared_statements_can_be_turned_off_for_a_connection_pooler() -> None:
    import os
    import subprocess
    import sys

    code = (
        "import django; django.setup(); from django.conf import settings; "
        "options = settings.DATABASES['default']['OPTIONS']; "
        "print(options.get('server_side_binding'), options.get('prepare_threshold'))"
    )
    base = {**os.environ, "DATABASE_URL": "postgres://casebook@db.internal:5432/casebook"}
    base.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    answers = []
    for value in ("on", "off"):
        result = subprocess.run(
            [sys.executable, "-c", code],
            env={**base, "CASEBOOK_PREPARED_STATEMENTS": value},
            capture_output=True,
            text=True,
            check=True,
            cwd=settings.BASE_DIR,
        )
        answers.append(result.stdout.strip())
    assert answers == ["True 2", "None None"]
