"""
Drive every measured endpoint against a gunicorn server and collect the figures.

Each endpoint is an entry of `ENDPOINTS`: a method, a path template, an optional
JSON body, the kinds of user it is measured for and how they sign in. An entry
whose route answers 404 is reported as not available and skipped, so the same
harness measures whatever the project has today.
"""

import asyncio
import contextlib
import dataclasses
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from importlib import import_module
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from bench.client import Connection, Make, Request, Response, Sample, Workers, load

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
CUSTOMER, SUPPORT = "customer", "support"
# Where the server's static files are collected (not the deployment's STATIC_ROOT).
STATIC_ROOT = ROOT / "var" / "bench-static"


@dataclasses.dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    roles: tuple[str, ...]
    # "token" (Authorization header), "session" (cookie) or "both".
    auth: str
    group: str
    # The floor it is compared with ("list" or "detail"); None for the floor itself.
    floor: str | None = None
    # The share of the floor's requests/s the acceptance criteria ask for.
    target: float | None = None
    body: dict[str, Any] | None = None
    # The cases that fill {number} and {pk}: "visible", "open" or "reclassify".
    pool: str = "visible"
    # Answers that count as success besides 2xx.
    ok_statuses: tuple[int, ...] = ()


BOTH = (CUSTOMER, SUPPORT)
ENDPOINTS: tuple[Endpoint, ...] = (
    # The floor authenticates as the API does, with the token only: sent with the
    # session cookie as well, it would also pay for the session and its user, which
    # the two-factor middleware (accounts.otp) loads on every request that has one.
    Endpoint("floor list", "GET", "/bench/floor/cases/", BOTH, "token", "floor"),
    Endpoint("floor detail", "GET", "/bench/floor/cases/{pk}/", BOTH, "token", "floor"),
    Endpoint("api list", "GET", "/api/v1/cases/", BOTH, "token", "api", "list", 1.0),
    Endpoint(
        "api list status", "GET", "/api/v1/cases/?status={status}", BOTH, "token", "api",
        "list", 1.0,
    ),
    Endpoint("api list q", "GET", "/api/v1/cases/?q={word}", BOTH, "token", "api", "list", 1.0),
    Endpoint("api list deep", "GET", "{deep}", BOTH, "token", "api", "list", 1.0),
    Endpoint("api detail", "GET", "/api/v1/cases/{number}/", BOTH, "token", "api", "detail", 1.0),
    Endpoint(
        "api create", "POST", "/api/v1/cases/", BOTH, "token", "write", "detail", 0.6,
        body={
            "subject": "Benchmark case {n}",
            "description": "Filed by the benchmark.",
            "type": "issue",
            "severity": 3,
            "product_version": "17.1",
            "reporter": "{reporter}",
        },
    ),
    Endpoint(
        "api reclassify", "POST", "/api/v1/cases/{number}/reclassify/", (SUPPORT,), "token",
        "write", "detail", 0.6, body={"to": "{to}", "reason": "Benchmark reclassification."},
        pool="reclassify",
    ),
    Endpoint(
        "api comment", "POST", "/api/v1/cases/{number}/comments/", BOTH, "token", "write",
        "detail", 0.6, body={"body": "A comment from the benchmark."}, pool="open",
    ),
    Endpoint("portal list", "GET", "/", (CUSTOMER,), "session", "portal", "list", 0.8),
    Endpoint("portal case", "GET", "/cases/{number}/", (CUSTOMER,), "session", "portal",
             "detail", 0.8),
    Endpoint("admin list", "GET", "/admin/cases/case/", (SUPPORT,), "session", "admin", "list",
             0.8),
)  # fmt: skip


@dataclasses.dataclass
class Options:
    cases: int
    database_url: str
    seconds: float = 3.0
    warmup: float = 0.5
    rounds: int = 5
    concurrency: int = 4
    memory_requests: int = 20000
    search: str = "timeout"
    status: str = "open"
    deep_pages: int = 20
    only: tuple[str, ...] = ()
    results: Path = ROOT / "bench" / "results"
    workers: int = 2


@dataclasses.dataclass
class Identity:
    """How one kind of user signs in, and the cases it works on."""

    role: str
    user_id: int
    email: str
    token: str
    session: str
    pools: dict[str, list[int]]
    types: dict[int, str]
    reporter: str

    def headers(self, auth: str, session_cookie: str) -> dict[str, str]:
        # The API's documented scheme (accounts.authentication): `Bearer <token>`.
        headers = {"Accept": "text/html" if auth == "session" else "application/json"}
        if auth in ("token", "both"):
            headers["Authorization"] = f"Bearer {self.token}"
        if auth in ("session", "both"):
            headers["Cookie"] = f"{session_cookie}={self.session}"
        return headers


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def identities(*, memory: bool = False) -> dict[str, Identity]:
    """Give the benchmark's customer and support user a token, a session and cases to use."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from accounts.models import ApiToken, User
    from bench.seed import CUSTOMER_EMAIL, SUPPORT_EMAIL
    from cases.models import Case, CaseType, Status

    store = import_module(settings.SESSION_ENGINE).SessionStore
    out = {}
    customer = User.objects.get(email=CUSTOMER_EMAIL)
    for role, email in ((CUSTOMER, CUSTOMER_EMAIL), (SUPPORT, SUPPORT_EMAIL)):
        user = User.objects.get(email=email)
        if user.is_superuser:
            # In production a superuser without a second factor is sent to enrol
            # one (accounts.otp): every staff page would measure a redirect.
            raise RuntimeError(f"{email} must not be a superuser; reseed (--reseed).")
        # A token of this run only: deleting a shared "benchmark" token would
        # turn the API requests of another run on the same database into 401s.
        _token, key = ApiToken.issue(user=user, name=f"benchmark {os.getpid()}")
        # What Django's test client does in force_login: a real session row.
        session = store()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "accounts.backends.PermissionBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        visible = Case.objects.visible_to(user)
        unfinished = visible.exclude(status__in=[Status.RESOLVED, Status.CLOSED])
        reclassifiable = unfinished.filter(type__in=[CaseType.BUG, CaseType.ENHANCEMENT])
        pools = {
            name: list(qs.order_by("?").values_list("pk", flat=True)[:500])
            for name, qs in (
                ("visible", visible),
                ("open", unfinished),
                ("reclassify", reclassifiable),
            )
        }
        types = dict(Case.objects.filter(pk__in=pools["reclassify"]).values_list("pk", "type"))
        out[role] = Identity(
            role=role,
            user_id=user.pk,
            email=email,
            token=key,
            session=session.session_key or "",
            pools=pools,
            types=types,
            reporter=customer.email,
        )
    return out


def pooled_cases(people: dict[str, Identity]) -> list[int]:
    """Return the cases a run may change: those of every user's pools."""
    return [pk for who in people.values() for pool in who.pools.values() for pk in pool]


def number(pk: int) -> str:
    from cases.models import Case

    return Case(pk=pk).number


def maker(endpoint: Endpoint, who: Identity, deep: str, cookie: str) -> Make:
    """Return a function giving the next request of `endpoint` for `who`."""
    pool = who.pools.get(endpoint.pool) or [0]
    turn = count(secrets.randbelow(len(pool)))
    serial = count(1)
    headers = who.headers(endpoint.auth, cookie)
    if endpoint.body is not None:
        headers["Content-Type"] = "application/json"

    def make() -> tuple[Request, Callable[[Response], None] | None]:
        pk = pool[next(turn) % len(pool)]
        values: dict[str, Any] = {
            "pk": pk,
            "number": number(pk),
            "status": "",
            "word": "",
            "deep": deep,
            "n": next(serial),
            "reporter": who.reporter,
            "to": "",
        }
        after = None
        if endpoint.pool == "reclassify":
            current = who.types.get(pk, "bug")
            values["to"] = "enhancement" if current == "bug" else "bug"

            def after(response: Response, pk: int = pk, to: str = values["to"]) -> None:
                if response.status < 300:
                    who.types[pk] = to

        path = endpoint.path.format(**values)
        body = b""
        if endpoint.body is not None:
            data = {
                k: v.format(**values) if isinstance(v, str) else v
                for k, v in endpoint.body.items()
                if not (k == "reporter" and who.role == CUSTOMER)
            }
            body = json.dumps(data).encode()
        return Request(endpoint.method, path, headers, body), after

    return make


@contextlib.contextmanager
def server(options: Options, port: int, secret: str) -> Iterator[subprocess.Popen[bytes]]:
    """Run gunicorn with production settings on `port` until the block ends."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY=secret,
        DJANGO_ALLOWED_HOSTS=HOST,
        DATABASE_URL=options.database_url,
        CONN_MAX_AGE="600",
        LOG_LEVEL="ERROR",
        PYTHONPATH=str(ROOT),
        # Production serves static files through WhiteNoise from a collected,
        # hashed manifest: without it every page that links a static file is a 500.
        STATIC_ROOT=str(STATIC_ROOT),
    )
    collect = [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"]
    subprocess.run(collect, env=env, cwd=ROOT, check=True)
    command = [
        sys.executable, "-m", "gunicorn", "portal.wsgi:application",
        # Our own config file, not the project's gunicorn.conf.py (see bench/gunicorn.conf.py).
        "--config", str(ROOT / "bench" / "gunicorn.conf.py"),
        "--workers", str(options.workers), "--worker-class", "sync",
        "--bind", f"{HOST}:{port}", "--log-level", "warning", "--chdir", str(ROOT),
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with status {process.returncode}")
            try:
                with socket.create_connection((HOST, port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start within 60 seconds") from None
                time.sleep(0.2)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    try:
        return [int(pid) for pid in children.read_text().split()]
    except OSError:
        return []


async def deep_cursor(port: int, who: Identity, pages: int) -> str:
    """Follow the API list's `next` links `pages` pages of 100 deep; return that page's path."""
    connection = Connection(HOST, port)
    path = "/api/v1/cases/?page_size=100"
    found = ""
    try:
        for _ in range(pages):
            response = await connection.send(Request("GET", path, who.headers("token", "")))
            if response.status != 200:
                break
            following = json.loads(response.body).get("next")
            if not following:
                break
            parts = urlsplit(following)
            query = [(k, v) for k, v in parse_qsl(parts.query) if k != "page_size"]
            found = f"{parts.path}?{urlencode(query)}"
            path = f"{parts.path}?{urlencode([*query, ('page_size', '100')])}"
    finally:
        await connection.close()
    return found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# The name of the floor measured beside the writes is the floor's, and this.
WRITES_FLOOR = " (writes)"
# An endpoint and user measured: their row of results, their requests, which
# statuses count as answers, and what was measured so far.
Measured = tuple[dict[str, Any], Make, Callable[[int], bool], Sample]


async def measure_round(
    options: Options,
    port: int,
    workers: Workers,
    entries: list[Measured],
) -> None:
    """Give each of `entries` its share of `options.seconds` (after its warm-up), in order."""
    rounds = max(1, options.rounds)
    for _row, make, accepts, total in entries:
        await load(
            HOST, port, make, seconds=options.warmup / rounds,
            concurrency=options.concurrency, ok=accepts, workers=workers,
        )  # fmt: skip
        sample = await load(
            HOST, port, make, seconds=options.seconds / rounds,
            concurrency=options.concurrency, ok=accepts, workers=workers,
        )  # fmt: skip
        total.seconds += sample.seconds
        total.latencies += sample.latencies
        total.statuses.update(sample.statuses)
        total.queries += sample.queries
        total.failures += sample.failures[: 5 - len(total.failures)]


async def measure_all(
    options: Options, port: int, people: dict[str, Identity], workers: Workers, cookie: str
) -> list[dict[str, Any]]:
    """
    Measure every endpoint for every kind of user, in `options.rounds` rounds.

    Each round gives each endpoint its share of `options.seconds`, every other
    round in the reverse order. A machine whose speed drifts during the run
    (other load, a neighbour on the same host) then slows every endpoint and
    the floor alike, and the ratios to the floor hold.

    The reads are measured first, then the writes, each beside the floor. The
    writes file thousands of cases into the customer's organization and
    comment on hundreds of its cases within a minute; measured in between,
    the reads would find those first in every list and search, which is no
    organization's data. Each phase is compared with the floor measured in
    it: the writes with "floor detail (writes)".
    """
    rows: list[dict[str, Any]] = []
    deep = {role: await deep_cursor(port, who, options.deep_pages) for role, who in people.items()}
    measured: list[Measured] = []
    for endpoint in ENDPOINTS:
        if options.only and endpoint.name not in options.only:
            continue
        for role in endpoint.roles:
            who = people[role]
            row: dict[str, Any] = {
                "endpoint": endpoint.name,
                "role": role,
                "method": endpoint.method,
                "path": endpoint.path,
                "group": endpoint.group,
                "floor": endpoint.floor,
                "target": endpoint.target,
            }
            rows.append(row)
            if "{deep}" in endpoint.path and not deep[role]:
                row["note"] = "not available (no second page to follow)"
                continue
            values = {"status": options.status, "word": options.search}
            shaped = dataclasses.replace(
                endpoint,
                path=endpoint.path.replace("{status}", values["status"]).replace(
                    "{word}", values["word"]
                ),
            )
            make = maker(shaped, who, deep[role], cookie)

            def ok(status: int, endpoint: Endpoint = endpoint) -> bool:
                return 200 <= status < 300 or status in endpoint.ok_statuses

            probe_connection = Connection(HOST, port)
            request, after = make()
            try:
                probe = await probe_connection.send(request)
            finally:
                await probe_connection.close()
            if after is not None:
                after(probe)
            if probe.status == 404:
                row["note"] = "not available"
                print(f"  {endpoint.name} ({role}): not available", flush=True)
                continue
            if not ok(probe.status):
                row["note"] = f"skipped: answers {probe.status}"
                row["probe"] = probe.body[:300].decode("utf-8", "replace")
                print(f"  {endpoint.name} ({role}): answers {probe.status}", flush=True)
                continue
            measured.append((row, make, ok, Sample()))
    floor = [entry for entry in measured if entry[0]["group"] == "floor"]
    reads = [entry for entry in measured if entry[0]["group"] not in ("floor", "write")]
    writes = [entry for entry in measured if entry[0]["group"] == "write"]
    phases = [("reads", floor + reads)] if reads or not writes else []
    if writes:
        # The writes are compared with a floor measured beside them, in rows of its own.
        beside: list[Measured] = []
        for row, make, accepts, _sample in floor:
            if any(entry[0]["floor"] == row["endpoint"].removeprefix("floor ") for entry in writes):
                copy = {**row, "endpoint": f"{row['endpoint']}{WRITES_FLOOR}"}
                rows.insert(rows.index(row) + 1, copy)
                beside.append((copy, make, accepts, Sample()))
        for entry in writes:
            if entry[0]["floor"]:
                entry[0]["floor"] += WRITES_FLOOR
        measured += beside
        phases.append(("writes", beside + writes))
    rounds = max(1, options.rounds)
    for phase, entries in phases:
        for number in range(rounds):
            await measure_round(
                options, port, workers, entries if number % 2 == 0 else entries[::-1]
            )
            print(f"  {phase}: round {number + 1} of {rounds} measured", flush=True)
    for row, _make, accepts, sample in measured:
        good = sum(n for status, n in sample.statuses.items() if accepts(status))
        failed = sum(sample.statuses.values()) - good
        row.update(
            requests=sum(sample.statuses.values()),
            failed=failed,
            statuses={str(k): v for k, v in sorted(sample.statuses.items())},
            rps=round(good / sample.seconds, 1),
            p50_ms=round(percentile(sample.latencies, 0.5) * 1000, 2),
            p99_ms=round(percentile(sample.latencies, 0.99) * 1000, 2),
            queries_min=min(sample.queries, default=None),
            queries_median=statistics.median(sample.queries) if sample.queries else None,
            queries_max=max(sample.queries, default=None),
        )
        if sample.failures:
            row["failures"] = sample.failures
        print(
            f"  {row['endpoint']} ({row['role']}): {row['rps']} req/s, p50 {row['p50_ms']} ms, "
            f"p99 {row['p99_ms']} ms, {row['queries_median']} queries, {failed} failed",
            flush=True,
        )
    floors = {
        (row["endpoint"].removeprefix("floor "), row["role"]): row["rps"]
        for row in rows
        if row["group"] == "floor" and "rps" in row
    }
    for row in rows:
        base = floors.get((row["floor"], row["role"])) if row["floor"] else None
        if base and "rps" in row:
            row["ratio"] = round(row["rps"] / base, 2)
            row["meets_target"] = row["ratio"] >= (row["target"] or 0)
    return rows


async def memory(
    options: Options, port: int, people: dict[str, Identity], workers: Workers, cookie: str,
    master: int,
) -> dict[str, Any]:  # fmt: skip
    """Keep sending reads until every worker has served `memory_requests` requests."""
    pids = worker_pids(master)
    makers = [
        maker(endpoint, people[role], "", cookie)
        for endpoint in ENDPOINTS
        if endpoint.method == "GET" and "{deep}" not in endpoint.path
        for role in endpoint.roles
    ]
    turn = count()

    def make() -> tuple[Request, Callable[[Response], None] | None]:
        return makers[next(turn) % len(makers)]()

    def done() -> bool:
        return all(workers.served[pid] >= options.memory_requests for pid in pids)

    began = time.perf_counter()
    await load(
        HOST, port, make, seconds=3600, concurrency=options.concurrency,
        ok=lambda status: status < 500, workers=workers, stop_when=done,
    )  # fmt: skip
    low, high = options.memory_requests // 10, options.memory_requests
    per_worker = []
    for pid in pids:
        rss = workers.rss.get(pid, {})
        entry: dict[str, Any] = {
            "pid": pid,
            "served": workers.served[pid],
            f"rss_kib_after_{low}": rss.get(low),
            f"rss_kib_after_{high}": rss.get(high),
        }
        if rss.get(low) and rss.get(high):
            entry["growth"] = round(rss[high] / rss[low] - 1, 3)
        per_worker.append(entry)
    return {
        "requests_per_worker": [low, high],
        "seconds": round(time.perf_counter() - began, 1),
        "workers": per_worker,
    }


def run(options: Options, seed_info: dict[str, Any]) -> dict[str, Any]:
    """Start the server, measure every endpoint and the workers' memory; return the results."""
    from django.conf import settings

    from bench.restore import writes_undone

    people = identities()
    cookie = settings.SESSION_COOKIE_NAME
    port = free_port()
    low = max(1, options.memory_requests // 10)
    workers = Workers(checkpoints=(low, options.memory_requests))
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with writes_undone(pooled_cases(people)), server(options, port, settings.SECRET_KEY) as process:
        print(f"gunicorn on {HOST}:{port}, {options.workers} workers", flush=True)
        rows = asyncio.run(measure_all(options, port, people, workers, cookie))
        mem = (
            asyncio.run(memory(options, port, people, workers, cookie, process.pid))
            if options.memory_requests
            else {}
        )
    return {
        "cases": options.cases,
        "started": started,
        "seed": seed_info,
        "settings": {
            "server": f"gunicorn, {options.workers} sync workers, DJANGO_ENV=production, "
            "CONN_MAX_AGE=600",
            "seconds_per_endpoint": options.seconds,
            "warmup_seconds": options.warmup,
            "rounds": options.rounds,
            "concurrency": options.concurrency,
            "search": options.search,
            "status_filter": options.status,
            "deep_pages_of_100": options.deep_pages,
            "load_average_at_start": os.getloadavg()[0],
            "cpus": os.cpu_count(),
        },
        "results": rows,
        "memory": mem,
    }
