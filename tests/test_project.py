"""The project as a newcomer meets it: README diagrams, settings, demo setup."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from accounts.models import User
from cases.management.commands.state_diagrams import README, readme_with_diagrams
from cases.models import Case

ROOT = Path(settings.BASE_DIR)


def test_readme_diagrams_match_the_machines_in_the_code() -> None:
    text = README.read_text(encoding="utf-8")
    assert "```mermaid" in text
    assert readme_with_diagrams(text) == text, (
        "README.md's state diagrams differ from the code: "
        "run `python manage.py state_diagrams --write-readme`."
    )


def test_readme_diagram_changes_when_a_transition_changes() -> None:
    text = README.read_text(encoding="utf-8")
    tampered = text.replace("question --> bug: to_bug", "question --> issue: to_issue")
    assert tampered != text
    assert readme_with_diagrams(tampered) == text


def run_settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "portal.settings", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_mode_refuses_to_start_without_secret_key_and_hosts() -> None:
    result = run_settings({"DJANGO_ENV": "production"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS" in result.stderr


def test_production_mode_starts_with_what_it_needs() -> None:
    result = run_settings(
        {
            "DJANGO_ENV": "production",
            "DJANGO_SECRET_KEY": "x" * 50,
            "DJANGO_ALLOWED_HOSTS": "cases.example.com",
        }
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
def test_demo_setup_loads_the_corpus_and_is_repeatable(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("demo_setup")
    call_command("demo_setup")
    out = capsys.readouterr().out
    assert Case.objects.count() == 70
    assert "casebook-demo" in out
    assert "http://127.0.0.1:8000/" in out
    admin = User.objects.get(email="admin@casebook.example.com")
    assert admin.is_superuser
    assert admin.check_password("casebook-demo")
    assert User.objects.get(email="rohan.mehta@vantage-support.example.com").check_password(
        "casebook-demo"
    )
