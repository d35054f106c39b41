"""Production mode: deploy checks, security headers, static files and /healthz."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client

ROOT = Path(settings.BASE_DIR)
PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "DJANGO_SECRET_KEY": "a-long-random-production-secret-" + "k3y" * 12,
    "DJANGO_ALLOWED_HOSTS": "cases.example.com,testserver",
}


def run_production(
    args: list[str], tmp_path: Path, **extra: str
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env = {
        **clean,
        **PRODUCTION_ENV,
        "CASEBOOK_VAR_DIR": str(tmp_path),
        "STATIC_ROOT": str(tmp_path / "static"),
        **extra,
    }
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


def test_check_deploy_in_production_mode_reports_no_issue(tmp_path: Path) -> None:
    result = run_production(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_warns_when_production_settings_are_weakened(tmp_path: Path) -> None:
    result = run_production(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        tmp_path,
        DJANGO_HSTS_SECONDS="0",
    )
    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr


PROBE = """
import json, django
django.setup()
from django.test import Client
client = Client()
page = client.get("/admin/login/", secure=True)
plain = client.get("/admin/login/")
health = client.get("/healthz")
print(json.dumps({
    "status": page.status_code,
    "headers": dict(page.headers),
    "cookies": {name: dict(morsel) for name, morsel in page.cookies.items()},
    "plain_status": plain.status_code,
    "plain_location": plain.headers.get("Location", ""),
    "health_status": health.status_code,
}))
"""


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a var folder whose static files were collected as a deployment does."""
    var = tmp_path_factory.mktemp("deployed")
    result = run_production(["manage.py", "collectstatic", "--noinput", "-v", "0"], var)
    assert result.returncode == 0, result.stderr
    return var


def test_production_mode_sends_hsts_secure_cookies_and_redirects_to_https(deployed: Path) -> None:
    result = run_production(["-c", PROBE], deployed, DJANGO_SETTINGS_MODULE="portal.settings")
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])

    assert probe["status"] == 200
    headers = probe["headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    csrf = probe["cookies"]["csrftoken"]
    assert csrf["secure"] is True
    assert csrf["httponly"] is True
    assert probe["plain_status"] == 301
    assert probe["plain_location"].startswith("https://")
    # The load balancer's health check over plain HTTP is not redirected.
    assert probe["health_status"] in (200, 503)


def test_production_static_files_are_hashed_and_compressed(deployed: Path) -> None:
    static = deployed / "static"
    manifest = json.loads((static / "staticfiles.json").read_text())
    hashed = manifest["paths"]["admin/css/base.css"]
    assert hashed != "admin/css/base.css"
    assert (static / hashed).exists()
    assert (static / (hashed + ".gz")).exists()


def assert_security_headers(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    csp = headers["Content-Security-Policy"]
    directives = {
        name: value
        for name, _, value in (part.strip().partition(" ") for part in csp.split(";"))
        if name
    }
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in csp
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in headers["Permissions-Policy"]
    assert "microphone=()" in headers["Permissions-Policy"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["/admin/login/", "/admin/", "/healthz", "/no-such-page/"],
    ids=["admin-login", "admin-redirect", "json-health", "not-found"],
)
def test_security_headers_on_every_kind_of_response(client: Client, path: str) -> None:
    response = client.get(path)
    assert_security_headers(response)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/", "/cases/new/", "/kb/", "/api/v1/cases/", "/api/v1/docs/", "/accounts/login/"]
)
def test_security_headers_on_the_portal_and_api_pages_of_a_signed_in_customer(
    client: Client, customer: Any, path: str
) -> None:
    client.force_login(customer)
    response = client.get(path)
    assert response.status_code in (200, 302)
    assert_security_headers(response)


@pytest.mark.django_db
def test_security_headers_on_a_json_response_to_an_api_client(client: Client) -> None:
    response = client.get("/api/v1/cases/", headers={"Accept": "application/json"})
    assert_security_headers(response)


# /healthz -------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_is_ok_when_the_database_is_reachable_and_migrated(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["migrations"] == "ok"
    assert "queue_backlog" in body["checks"]
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_healthz_says_nothing_about_customers(client: Client, case: object) -> None:
    body = client.get("/healthz").content.decode()
    assert case.subject not in body  # type: ignore[attr-defined]
    assert "@" not in body
    assert set(json.loads(body)) == {"status", "checks"}


@pytest.mark.django_db(transaction=True)
def test_healthz_is_503_while_a_migration_is_not_applied(client: Client) -> None:
    recorder = MigrationRecorder(connection)
    # The newest migration of the app: the plan towards each app's leaf is what is checked.
    applied = recorder.migration_qs.filter(app="cases").latest("id")
    applied.delete()
    try:
        response = client.get("/healthz")
    finally:
        recorder.record_applied("cases", applied.name)
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "1 not applied"
    assert response["Retry-After"]


@pytest.mark.django_db
def test_healthz_needs_no_sign_in_and_only_answers_get(client: Client) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405
