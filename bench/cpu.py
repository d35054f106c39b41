"""
``python -m bench.cpu --cases 10000 --only "floor list,admin list"``: CPU per request.

The HTTP benchmark (``python -m bench``) gives the figures the acceptance
criteria name, but they move with everything else the machine is doing. This
tool answers the question one asks while working on an endpoint, "how much of
this process's CPU does one request take, against the floor's?", and its
answer barely moves under other load: it serves each endpoint's requests in
this process through Django's test client (the same settings, middleware and
database as the server) and reads the process's own CPU time around them.
Time spent inside PostgreSQL is not counted; the SQL queries per request are.
Like a run of the HTTP benchmark, it undoes its writes when it is done.

``--profile NAME`` prints where that endpoint's CPU goes (cProfile).
"""

import argparse
import cProfile
import dataclasses
import os
import pstats
import secrets
import statistics
import sys
import time
from typing import Any

from bench.__main__ import DEFAULT_SERVER, _label


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu", description=__doc__)
    parser.add_argument("--cases", type=int, default=10000, help="the seeded database (10000)")
    parser.add_argument("--database-url", help=f"default {DEFAULT_SERVER}/bench_<cases>")
    parser.add_argument("--requests", type=int, default=300, help="per endpoint and user (300)")
    parser.add_argument("--only", default="", help="comma-separated endpoint names")
    parser.add_argument("--profile", default="", help="an endpoint to profile with cProfile")
    parser.add_argument("--role", default="", help="customer or support (both)")
    parser.add_argument("--search", default="timeout", help="the word of the q= search")
    parser.add_argument("--status", default="open", help="the status= filter")
    args = parser.parse_args(argv)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["DATABASE_URL"] = args.database_url or (
        f"{DEFAULT_SERVER}/bench_{_label(args.cases)}"
    )
    os.environ["DJANGO_ENV"] = "production"
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + secrets.token_urlsafe(32))
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"
    os.environ["CONN_MAX_AGE"] = "600"
    os.environ["LOG_LEVEL"] = "ERROR"
    from bench.run import STATIC_ROOT

    os.environ["STATIC_ROOT"] = str(STATIC_ROOT)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from bench.restore import writes_undone
    from bench.run import identities, pooled_cases

    call_command("collectstatic", "--noinput", verbosity=0)
    people = identities()
    wanted = {name.strip() for name in args.only.split(",") if name.strip()}
    if args.profile:
        wanted.add(args.profile)
    if wanted:
        # The ratios need the floor, measured in the same run.
        wanted |= {"floor list", "floor detail"}
    print(f"{'endpoint':<18} {'role':<9} {'cpu ms':>7} {'wall ms':>8} {'queries':>7}  ratio")
    # The writes of the write endpoints are undone afterwards, as after a run of
    # the HTTP benchmark (bench.restore).
    with writes_undone(pooled_cases(people)):
        measure(args, people, wanted, Client(), settings.SESSION_COOKIE_NAME)
    return 0


def measure(
    args: argparse.Namespace, people: Any, wanted: set[str], client: Any, cookie: str
) -> None:
    """Serve each wanted endpoint's requests through `client` and print their CPU per request."""
    from bench.run import ENDPOINTS, maker

    floors: dict[tuple[str, str], float] = {}
    for endpoint in ENDPOINTS:
        if wanted and endpoint.name not in wanted:
            continue
        for role in endpoint.roles:
            if args.role and role != args.role:
                continue
            who = people[role]
            deep = ""
            if "{deep}" in endpoint.path:
                continue
            # The word and status filled in as the HTTP benchmark does (bench.run).
            shaped = dataclasses.replace(
                endpoint,
                path=endpoint.path.replace("{status}", args.status).replace("{word}", args.search),
            )
            make = maker(shaped, who, deep, cookie)

            def send(make: Any = make, who: Any = who) -> Any:
                request, after = make()
                path = request.path
                headers = dict(request.headers)
                if "Cookie" in headers:
                    client.cookies[cookie] = who.session
                    headers.pop("Cookie")
                else:
                    client.cookies.clear()
                content_type = headers.pop("Content-Type", "application/octet-stream")
                if request.method == "GET":
                    response = client.get(path, headers=headers)
                else:
                    response = client.generic(
                        request.method, path, request.body, content_type, headers=headers
                    )
                if after is not None:
                    after(type("R", (), {"status": response.status_code})())
                return response

            first = send()
            if first.status_code >= 400:
                print(f"{endpoint.name:<18} {role:<9} answers {first.status_code}")
                continue
            for _ in range(20):
                send()
            queries = []
            cpu0, wall0 = time.process_time(), time.perf_counter()
            if args.profile == endpoint.name:
                profiler = cProfile.Profile(time.process_time)  # CPU, not time spent waiting
                profiler.enable()
            for _ in range(args.requests):
                response = send()
                queries.append(int(response.headers.get("X-Query-Count", 0)))
            if args.profile == endpoint.name:
                profiler.disable()
            cpu = (time.process_time() - cpu0) / args.requests * 1000
            wall = (time.perf_counter() - wall0) / args.requests * 1000
            ratio = ""
            if endpoint.group == "floor":
                floors[(endpoint.name.removeprefix("floor "), role)] = cpu
            elif endpoint.floor and (endpoint.floor, role) in floors:
                ratio = f"{floors[(endpoint.floor, role)] / cpu:.2f}"
                if endpoint.target:
                    ratio += f" (target {endpoint.target})"
            print(
                f"{endpoint.name:<18} {role:<9} {cpu:7.2f} {wall:8.2f} "
                f"{statistics.median(queries):7}  {ratio}",
                flush=True,
            )
            if args.profile == endpoint.name:
                stats = pstats.Stats(profiler)
                stats.sort_stats("cumulative").print_stats(45)
                stats.sort_stats("tottime").print_stats(25)
                if os.environ.get("BENCH_CALLEES"):
                    stats.print_callees(os.environ["BENCH_CALLEES"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
