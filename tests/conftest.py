from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from accounts.models import User
from cases.models import Case
from tests import factories


@pytest.fixture(autouse=True)
def _test_settings(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Skip tests marked `postgres` when the database is not PostgreSQL."""
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def customer(db: None) -> User:
    return factories.CustomerFactory.create()


@pytest.fixture
def other_customer(db: None) -> User:
    """A customer of another organization."""
    return factories.CustomerFactory.create()


@pytest.fixture
def support(db: None) -> User:
    return factories.SupportFactory.create()


@pytest.fixture
def engineer(db: None) -> User:
    return factories.EngineerFactory.create()


@pytest.fixture
def case(customer: User) -> Case:
    return factories.file_case(reporter=customer)


@pytest.fixture(autouse=True)
def _immediate_tasks(settings: Any) -> None:
    """Run background tasks in the process, after the commit; queue tests switch to the database."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """
    Start each test with an empty cache, so the API's throttle counts never carry over.

    The statistics of searches a process keeps (cases.search) are forgotten too.
    """
    from django.core.cache import cache

    from cases import search

    cache.clear()
    search._common.clear()


@pytest.fixture
def api_client(db: None) -> Any:
    """Return a function giving an API client that sends a new API token of `user`."""
    from rest_framework.test import APIClient

    from accounts.models import ApiToken

    def make(user: User | None = None) -> APIClient:
        client = APIClient()
        if user is not None:
            _, key = ApiToken.issue(user=user, name="test")
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client

    return make
