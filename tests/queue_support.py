"""Helpers of the tests that run the real queue: roles after a flush, a counting HTTP receiver."""

import hashlib
import hmac
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.contrib.auth.models import Group, Permission
from django_tasks_db.models import DBTaskResult

from accounts.roles import ROLE_PERMISSIONS

PLAN_TASK = "notifications.tasks.plan_notifications"


def plan_queued() -> None:
    """Do what the worker does with the queued planning tasks: write the emails and deliveries."""
    from notifications.tasks import plan_notifications

    for args_kwargs in DBTaskResult.objects.filter(task_path=PLAN_TASK).values_list(
        "args_kwargs", flat=True
    ):
        plan_notifications.call(*args_kwargs["args"])


def ensure_roles() -> None:
    """Recreate the role groups, which a transactional test's flush removes with the data."""
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(
            [
                Permission.objects.get(content_type__app_label=app, codename=codename)
                for app, codename in perms
            ]
        )


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]


@dataclass
class Receiver:
    """What a local webhook receiver got, and the status codes it will answer, in order."""

    url: str = ""
    answers: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def webhook_receiver(answers: list[int] | None = None) -> Iterator[Receiver]:
    """Serve a local HTTP receiver in a thread; it answers `answers` in turn, then 200."""
    receiver = Receiver(answers=list(answers or []))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                receiver.received.append(
                    Received(body=body, headers={k.lower(): v for k, v in self.headers.items()})
                )
                status = receiver.answers.pop(0) if receiver.answers else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def verify_signature(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver's side of the documented algorithm (header names in lower case)."""
    timestamp = headers["x-casebook-timestamp"]
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(headers["x-casebook-signature"], "sha256=" + expected)
