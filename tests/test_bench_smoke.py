"""
The benchmark works end to end: seeds a small PostgreSQL database, serves it with
gunicorn and measures every available endpoint over HTTP. Figures are not checked
here (no timed tests); that it runs, reports and sees no failed request is.
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.postgres


@pytest.fixture
def bench_database_url() -> Iterator[str]:
    """A database of its own, next to the test database: the server must see committed rows."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    name = f"{parts.path.lstrip('/') or 'postgres'}_bench_smoke"
    url = urlunsplit(parts._replace(path=f"/{name}"))
    yield url
    admin = psycopg.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username,
        dbname="postgres",
        autocommit=True,
    )
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def test_benchmark_seeds_serves_measures_and_writes_its_report(
    bench_database_url: str, tmp_path: Path
) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--cases",
            "2000",
            "--database-url",
            bench_database_url,
            "--seconds",
            "0.5",
            "--warmup",
            "0.1",
            "--memory-requests",
            "300",
            "--deep-pages",
            "2",
            "--results",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Seeded 2,000 cases" in run.stdout

    result = json.loads((tmp_path / "2000.json").read_text())
    assert (tmp_path / "2000.md").read_text().startswith("# Benchmark at 2,000 cases")
    assert (tmp_path / "p50.png").read_bytes().startswith(b"\x89PNG")
    assert result["seed"]["cases"] == 2000
    assert result["seed"]["comments"] == 6000

    measured = [row for row in result["results"] if "rps" in row]
    floors = {(row["endpoint"], row["role"]) for row in measured if row["group"] == "floor"}
    assert floors == {
        ("floor list", "customer"),
        ("floor list", "support"),
        ("floor detail", "customer"),
        ("floor detail", "support"),
        # Measured again beside the writes, which come after the reads.
        ("floor detail (writes)", "customer"),
        ("floor detail (writes)", "support"),
    }
    writes = [row for row in measured if row["group"] == "write"]
    assert writes
    assert {row["floor"] for row in writes} == {"detail (writes)"}
    assert all("ratio" in row for row in writes)
    for row in measured:
        assert row["failed"] == 0, row
        assert row["rps"] > 0, row
        assert row["queries_min"] >= 1, row
    skipped = [row for row in result["results"] if "rps" not in row]
    assert all(row["note"].startswith(("not available", "skipped")) for row in skipped)
    workers = result["memory"]["workers"]
    assert len(workers) == 2
    assert all(worker["rss_kib_after_300"] > 0 for worker in workers)

    # The run's writes are undone: the next run measures the same data.
    with psycopg.connect(bench_database_url) as database, database.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM cases_case), (SELECT count(*) FROM cases_comment),"
            " (SELECT sum(comment_count) FROM cases_case),"
            " (SELECT count(*) FROM django_tasks_database_dbtaskresult)"
        )
        assert cursor.fetchone() == (2000, 6000, 6000, 0)
