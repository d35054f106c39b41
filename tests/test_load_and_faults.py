"""
Under load and faults, on PostgreSQL.

Twenty people act on one case at the same moment; then a database server of
the test's own is stopped under a running app server and started again.
"""

import contextlib
import http.client
import itertools
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from glob import glob
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection

from accounts.models import User
from cases import services
from cases.exceptions import StaleCase, TransitionNotAllowed
from cases.models import (
    ENGINEERING_STATUSES,
    ENGINEERING_TYPES,
    Case,
    CaseEvent,
    CaseType,
    Comment,
    EventKind,
    Status,
)
from tests import factories

pytestmark = pytest.mark.postgres

CLIENTS = 20
ACTIONS_PER_CLIENT = 6
EXPECTED_REFUSALS = (TransitionNotAllowed, StaleCase)


def run_clients(jobs: list[Any]) -> list[Any]:
    """Run each job in its own thread, all released at once; return each one's outcomes."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list[Any] = [None] * len(jobs)

    def run(index: int) -> None:
        try:
            barrier.wait()
            outcomes[index] = jobs[index]()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def chain_links_up(events: list[tuple[str, str]], start: str) -> bool:
    """Return whether each event starts where the previous one ended."""
    current = start
    for from_value, to_value in events:
        if from_value != current:
            return False
        current = to_value
    return True


@pytest.mark.django_db(transaction=True)
def test_twenty_clients_on_one_case_keep_every_comment_and_a_consistent_history() -> None:
    customer = factories.CustomerFactory.create()
    colleagues = [factories.CustomerFactory.create(organization=customer.organization)]
    supports = [factories.SupportFactory.create() for _ in range(3)]
    engineer = factories.EngineerFactory.create()
    case = factories.file_case(reporter=customer, type=CaseType.ISSUE)

    def client(n: int) -> Any:
        rng = random.Random(n)
        actor: User = [customer, *colleagues, *supports, engineer][n % 6]
        outcomes: list[Any] = []
        for step in range(ACTIONS_PER_CLIENT):
            action = rng.choice(["comment", "comment", "reclassify", "move"])
            try:
                if actor == engineer and action == "move":
                    # Engineering may only ask the customer for information.
                    services.request_info(case=case, by=actor)
                    outcomes.append(("moved", "request_info"))
                elif action == "comment" or not actor.is_staff or actor == engineer:
                    body = f"client {n} message {step}"
                    services.add_comment(case=case, by=actor, body=body, public=actor != engineer)
                    outcomes.append(("comment", body))
                elif action == "reclassify":
                    to = rng.choice(["issue", "bug", "enhancement"])
                    services.reclassify_case(case=case, by=actor, to=to, reason=f"{n}/{step}")
                    outcomes.append(("reclassified", to))
                else:
                    name = rng.choice(
                        ["acknowledge", "request_info", "escalate", "resolve", "reopen"]
                    )
                    services.transition_case(
                        case=case,
                        by=actor,
                        name=name,
                        resolution="duplicate",
                        reason="Again.",
                        expected_version=Case.objects.get(pk=case.pk).version
                        if rng.random() < 0.3
                        else None,
                    )
                    outcomes.append(("moved", name))
            except EXPECTED_REFUSALS as refusal:
                outcomes.append(("refused", f"{action}: {type(refusal).__name__}"))
            except ValidationError as error:
                # A customer may not comment on a closed case; nothing else is expected.
                outcomes.append(("invalid", error.message_dict))
            except Exception as error:  # the test's subject: nothing else may escape
                outcomes.append(("unexpected", repr(error)))
        return outcomes

    outcomes = list(itertools.chain(*run_clients([lambda n=n: client(n) for n in range(CLIENTS)])))

    assert [o for o in outcomes if o[0] in ("unexpected", "invalid")] == []
    posted = sorted(body for kind, body in outcomes if kind == "comment")
    # The load really happened: comments and moves got through, and support tried
    # to reclassify. Those may all be refused: a case resolved early in the run
    # takes no reclassification until someone reopens it.
    assert len(posted) >= CLIENTS
    assert "moved" in {kind for kind, _ in outcomes}
    attempts = [
        o for o in outcomes if o[0] == "reclassified" or o[1] == "reclassify: TransitionNotAllowed"
    ]
    assert attempts
    kept = sorted(Comment.objects.filter(case=case).values_list("body", flat=True))
    assert kept == posted
    commented = CaseEvent.objects.filter(case=case, kind=EventKind.COMMENTED).count()
    assert commented == len(posted)

    events = CaseEvent.objects.filter(case=case).order_by("at", "id")
    types = [(e.from_value, e.to_value) for e in events if e.kind == EventKind.RECLASSIFIED]
    statuses = [(e.from_value, e.to_value) for e in events if e.kind == EventKind.STATUS_CHANGED]
    assert chain_links_up(types, start=CaseType.ISSUE)
    assert chain_links_up(statuses, start=Status.NEW)

    final = Case.objects.get(pk=case.pk)
    assert final.type == (types[-1][1] if types else CaseType.ISSUE)
    assert final.status == (statuses[-1][1] if statuses else Status.NEW)
    assert final.type in CaseType.values
    assert final.status in Status.values
    if final.status in ENGINEERING_STATUSES:
        assert final.type in ENGINEERING_TYPES
    changes = sum(1 for kind, _ in outcomes if kind != "refused")
    assert final.version == 1 + changes


# A database server that goes away ---------------------------------------------------------


def _postgres_bin() -> Path:
    found = sorted(glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip("PostgreSQL server binaries are not installed")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cluster:
    """A throwaway PostgreSQL cluster in a temporary folder, run as the postgres user."""

    def __init__(self, folder: Path, port: int) -> None:
        self.bin = _postgres_bin()
        self.folder = folder
        self.data = folder / "data"
        self.port = port
        self.as_root = os.geteuid() == 0

    def run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        if self.as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self.run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/casebook"


@contextlib.contextmanager
def cluster() -> Iterator[Cluster]:
    folder = Path(tempfile.mkdtemp(prefix="casebook-pg-"))
    db = Cluster(folder, _free_port())
    try:
        db.init()
        db.start()
        db.run("createdb", "-h", "127.0.0.1", "-p", str(db.port), "-U", "postgres", "casebook")
        yield db
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            db.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if process.poll() is not None:
            raise AssertionError("the app server exited")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise AssertionError("the app server did not start")


class Browser:
    """Plain HTTP against the app server, keeping its cookies."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Any:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        headers = {"Host": "127.0.0.1"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            from urllib.parse import urlencode

            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://127.0.0.1:{self.port}{path}"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.text = response.read().decode()  # type: ignore[attr-defined]
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        conn.close()
        return response

    def sign_in(self, email: str, password: str) -> Any:
        self.request("GET", "/admin/login/")
        return self.request(
            "POST",
            "/admin/login/",
            {
                "username": email,
                "password": password,
                "csrfmiddlewaretoken": self.cookies.get("csrftoken", ""),
                "next": "/admin/",
            },
        )


WRITER = """
import os, time
from django.db import connection, OperationalError, InterfaceError
from accounts.models import User
from cases import services
from cases.models import Case
case = Case.objects.get()
customer = User.objects.get(email="writer@customer.example.com")
n = 0
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    n += 1
    try:
        services.add_comment(case=case, by=customer, body=f"write {n}")
        print("ok", n, flush=True)
    except (OperationalError, InterfaceError):
        print("failed", n, flush=True)
        connection.close()
    if open(os.environ["WRITER_CONTROL"]).read().strip() == "stop":
        break
    time.sleep(0.05)
"""

SETUP = """
from accounts.models import User
from tests import factories
staff = factories.SupportFactory.create(email="staff@vantage.example.com")
staff.set_password("a-long-enough-passphrase")
staff.save()
customer = factories.CustomerFactory.create(email="writer@customer.example.com")
factories.file_case(reporter=customer)
"""


@pytest.mark.django_db
def test_requests_fail_cleanly_while_the_database_is_down_and_succeed_after(
    tmp_path: Path,
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))},
        "DJANGO_DEBUG": "0",
        "CASEBOOK_VAR_DIR": str(tmp_path),
        "PYTHONUNBUFFERED": "1",
    }
    python = sys.executable
    root = str(settings.BASE_DIR)
    with cluster() as db:
        env["DATABASE_URL"] = db.url
        manage = [python, "manage.py"]
        subprocess.run([*manage, "migrate", "-v", "0"], cwd=root, env=env, check=True, timeout=120)
        subprocess.run([*manage, "shell", "-c", SETUP], cwd=root, env=env, check=True, timeout=60)

        port = _free_port()
        server = subprocess.Popen(
            [
                python,
                "-m",
                "gunicorn",
                "-c",
                "gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--threads",
                "4",
                "portal.wsgi:application",
            ],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        control = tmp_path / "writer-control"
        control.write_text("run")
        writer = subprocess.Popen(
            [*manage, "shell", "-c", WRITER],
            cwd=root,
            env={**env, "WRITER_CONTROL": str(control)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _wait_for_port(port, server)
            browser = Browser(port)
            assert browser.request("GET", "/healthz").status == 200
            assert (
                browser.sign_in("staff@vantage.example.com", "a-long-enough-passphrase").status
                == 302
            )
            assert browser.request("GET", "/admin/").status == 200

            db.stop()
            down_health = Browser(port).request("GET", "/healthz")
            down_page = browser.request("GET", "/admin/")
            down_sign_in = Browser(port).sign_in(
                "staff@vantage.example.com", "a-long-enough-passphrase"
            )
            time.sleep(0.5)  # the writer meets the outage too
            db.start()

            assert down_health.status == 503
            assert json.loads(down_health.text)["checks"]["database"] == "unreachable"
            assert down_page.status == 503
            assert down_page.getheader("Retry-After") == "30"
            assert "briefly unavailable" in down_page.text
            assert down_sign_in.status == 503

            time.sleep(0.5)
            assert browser.request("GET", "/healthz").status == 200
            assert browser.request("GET", "/admin/").status == 200
            assert (
                Browser(port)
                .sign_in("staff@vantage.example.com", "a-long-enough-passphrase")
                .status
                == 302
            )
        finally:
            control.write_text("stop")
            out, err = writer.communicate(timeout=60)
            server.terminate()
            server.wait(timeout=20)

        written = [int(n) for n in re.findall(r"^ok (\d+)$", out, re.M)]
        failed = [int(n) for n in re.findall(r"^failed (\d+)$", out, re.M)]
        assert written, out + err
        assert failed, out + err
        assert max(written) > min(failed)  # writes succeeded again after the outage

        check = subprocess.run(
            [*manage, "shell", "-c", CHECK],
            cwd=root,
            env=env,
            check=True,
            timeout=60,
            capture_output=True,
            text=True,
        )
        stored = json.loads(check.stdout.strip().splitlines()[-1])
        # Every write either happened whole or not at all.
        assert sorted(stored["comments"]) == sorted(f"write {n}" for n in written)
        assert stored["commented_events"] == len(written)
        assert stored["version"] == 1 + len(written)


CHECK = """
import json
from cases.models import Case, CaseEvent, Comment
case = Case.objects.get()
print(json.dumps({
    "comments": list(Comment.objects.filter(case=case).values_list("body", flat=True)),
    "commented_events": CaseEvent.objects.filter(case=case, kind="commented").count(),
    "version": case.version,
}))
"""
