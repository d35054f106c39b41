"""The staff dashboard: open cases, cases waiting on us, and the reclassification flow."""

import collections
import datetime
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from cases import services
from cases.corpus import import_corpus
from cases.models import CaseType, Severity
from tests import factories

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).resolve().parent.parent / "cases" / "fixtures" / "demo-corpus.json"
TYPES = ["issue", "bug", "enhancement", "question"]


@pytest.fixture
def corpus() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CORPUS.read_text())
    report = import_corpus(data)
    assert report.ok, report.errors
    return data


def test_reclassification_matrix_and_chart_equal_the_ones_computed_from_the_corpus(
    client: Client, support: User, corpus: dict[str, Any]
) -> None:
    filed_to_final = collections.Counter(
        (case["initial_type"], case["final_type"]) for case in corpus["cases"]
    )
    expected = {filed: {final: filed_to_final[filed, final] for final in TYPES} for filed in TYPES}
    client.force_login(support)

    response = client.get(reverse("admin:cases_case_dashboard"))

    assert response.status_code == 200
    assert response.context["matrix"] == expected
    # The table on the page shows the same numbers, row by row.
    page = response.content.decode()
    for filed in TYPES:
        row = re.search(rf'<tr data-filed="{filed}">(.*?)</tr>', page, re.S)
        assert row is not None
        cells = [int(n) for n in re.findall(r'<td class="cb-num[^"]*">(?:<strong>)?(\d+)', row[1])]
        assert cells[:4] == [expected[filed][final] for final in TYPES]
        assert cells[4] == sum(expected[filed].values())
    kept = sum(expected[t][t] for t in TYPES)
    assert f"{kept} of {len(corpus['cases'])}" in page
    # The chart is inline SVG, drawn on the server: one bar per non-empty cell.
    non_empty = sum(1 for filed in TYPES for final in TYPES if expected[filed][final])
    chart = page[page.index('<figure class="cb-chart">') :]
    svg = chart[: chart.index("</svg>")]
    bars = re.findall(r"<rect [^>]*><title>", svg)
    assert len(bars) == non_empty
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing fetched


def test_open_cases_are_counted_by_type_and_status(client: Client, support: User) -> None:

    factories.file_case(type=CaseType.BUG)
    factories.file_case(type=CaseType.BUG)
    acknowledged = factories.file_case(type=CaseType.QUESTION)
    services.acknowledge_case(case=acknowledged, by=support)
    resolved = factories.file_case(type=CaseType.ISSUE)
    services.resolve_case(case=resolved, by=support, resolution="answered")
    client.force_login(support)

    table = client.get(reverse("admin:cases_case_dashboard")).context["open_cases"]

    cells = {row["type"]: row["cells"] for row in table["rows"]}
    new, opened = table["status_values"].index("new"), table["status_values"].index("open")
    assert cells["Bug"][new] == 2
    assert cells["Question"][opened] == 1
    assert sum(cells["Issue"]) == 0  # resolved cases are not open
    assert table["total"] == 3


def test_waiting_on_us_is_counted_by_severity_and_age(client: Client, support: User) -> None:

    now = timezone.now()
    factories.file_case(severity=Severity.PRODUCTION_DOWN, at=now - datetime.timedelta(hours=1))
    factories.file_case(severity=Severity.PRODUCTION_DOWN, at=now - datetime.timedelta(days=10))
    answered = factories.file_case(severity=Severity.DEGRADED, at=now - datetime.timedelta(days=2))
    services.add_comment(case=answered, by=support, body="Looking")
    client.force_login(support)

    waiting = client.get(reverse("admin:cases_case_dashboard")).context["waiting"]

    rows = {row["severity"]: row for row in waiting["rows"]}
    assert rows[1]["cells"] == [1, 0, 0, 0, 1]
    assert rows[2]["total"] == 0
    assert waiting["total"] == 2


def test_engineer_sees_the_dashboard_and_customers_do_not(
    client: Client, engineer: User, customer: User
) -> None:
    client.force_login(engineer)
    assert client.get(reverse("admin:cases_case_dashboard")).status_code == 200
    assert (
        reverse("admin:cases_case_dashboard") in client.get(reverse("admin:index")).content.decode()
    )

    client.force_login(customer)
    assert client.get(reverse("admin:cases_case_dashboard")).status_code == 302
