"""
``python -m bench --cases 10000``: seed (if needed), serve, measure, report.

The database is PostgreSQL, ``bench_<cases>`` on the local server unless
``--database-url`` names another; it is created if missing. Seeding replaces
everything in it, so the harness only seeds a database whose name contains
"bench".
"""

import argparse
import dataclasses
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.run import ENDPOINTS, ROOT, Options

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"


def parse(argv: list[str]) -> tuple[Options, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--cases", type=int, default=10000, help="cases to seed (10000)")
    parser.add_argument("--database-url", help=f"default {DEFAULT_SERVER}/bench_<cases>")
    parser.add_argument("--reseed", action="store_true", help="seed even if already seeded")
    parser.add_argument("--seed-only", action="store_true", help="seed, then stop")
    parser.add_argument("--seconds", type=float, default=3.0, help="per endpoint and user (3)")
    parser.add_argument("--warmup", type=float, default=0.5, help="unmeasured seconds first")
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="rounds the seconds of each endpoint are spread over, alternating endpoints (5)",
    )
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent clients (4)")
    parser.add_argument(
        "--memory-requests",
        type=int,
        default=20000,
        help="requests per worker before the last memory reading (20000; 0 skips); "
        "the first reading is at a tenth of it",
    )
    parser.add_argument("--search", default="timeout", help="the word of the q= search")
    parser.add_argument("--status", default="open", help="the status= filter")
    parser.add_argument("--deep-pages", type=int, default=20, help="pages of 100 for deep cursor")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated endpoint names: " + ", ".join(e.name for e in ENDPOINTS),
    )
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    url = args.database_url or f"{DEFAULT_SERVER}/bench_{_label(args.cases)}"
    options = Options(
        cases=args.cases,
        database_url=url,
        seconds=args.seconds,
        warmup=args.warmup,
        rounds=args.rounds,
        concurrency=args.concurrency,
        memory_requests=args.memory_requests,
        search=args.search,
        status=args.status,
        deep_pages=args.deep_pages,
        only=tuple(name.strip() for name in args.only.split(",") if name.strip()),
        results=args.results,
    )
    return options, args


def _label(cases: int) -> str:
    for size, suffix in ((1_000_000, "m"), (1_000, "k")):
        if cases >= size and cases % size == 0:
            return f"{cases // size}{suffix}"
    return str(cases)


def ensure_database(url: str) -> None:
    """Create the database of `url` if the server does not have it yet."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = psycopg.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        dbname="postgres",
        autocommit=True,
    )
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        admin.close()


def seed_table() -> None:
    """Create the table that records what was seeded, if it is not there yet."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_seed "
            "(cases integer, comments integer, events integer, seconds real, at timestamptz)"
        )


def seeded(cases: int) -> dict[str, Any] | None:
    """Return what was seeded in this database, if it was `cases` cases."""
    from django.db import connection

    seed_table()
    with connection.cursor() as cursor:
        cursor.execute("SELECT cases, comments, events, seconds, at FROM bench_seed")
        row = cursor.fetchone()
    if row is None or row[0] != cases:
        return None
    return {
        "cases": row[0],
        "comments": row[1],
        "events": row[2],
        "seconds": row[3],
        "at": row[4].isoformat(),
        "reused": True,
    }


def main(argv: list[str]) -> int:
    options, args = parse(argv)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["DATABASE_URL"] = options.database_url
    os.environ["DJANGO_DEBUG"] = "0"
    # The harness writes the sessions the server reads: they share one key.
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + secrets.token_urlsafe(32))
    os.environ.pop("DJANGO_ENV", None)
    sys.path.insert(0, str(ROOT))
    ensure_database(options.database_url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench import report
    from bench.seed import seed

    call_command("migrate", verbosity=0)
    info = None if args.reseed else seeded(options.cases)
    if info is None:
        name = urlsplit(options.database_url).path.lstrip("/")
        if "bench" not in name:
            print(f"Refusing to seed {name!r}: its name does not contain 'bench'.")
            return 2
        print(f"Seeding {options.cases:,} cases into {name}...", flush=True)
        # Forget the last seed first: one that stops halfway is never reused.
        seed_table()
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE bench_seed")
        result = seed(cases=options.cases, log=lambda line: print(f"  {line}", flush=True))
        info = dataclasses.asdict(result)
        seed_table()
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE bench_seed")
            cursor.execute(
                "INSERT INTO bench_seed VALUES (%s, %s, %s, %s, now())",
                [result.cases, result.comments, result.events, result.seconds],
            )
        print(
            f"Seeded {result.cases:,} cases, {result.comments:,} comments, "
            f"{result.events:,} events in {result.seconds} s",
            flush=True,
        )
    else:
        print(f"Reusing {info['cases']:,} cases seeded in {info['seconds']} s", flush=True)
    if args.seed_only:
        return 0
    from bench.run import run

    began = time.perf_counter()
    result_data = run(options, info)
    result_data["seconds"] = round(time.perf_counter() - began, 1)
    for path in report.write(result_data, options.results):
        print(f"wrote {path}")
    print(report.markdown(result_data))
    failed = sum(row.get("failed", 0) for row in result_data["results"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
