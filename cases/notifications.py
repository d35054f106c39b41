"""
Side effects of case events: emails and webhooks.

The services call these inside the transaction of the change, right after
writing the event. With the database task backend the queue is a table in the
same database: the change enqueues one task, committed or rolled back with it,
and the worker writes the emails and webhook deliveries and sends them. Nothing
is sent for a change that did not happen, and nothing is lost for one that did.
Other backends (Redis, immediate) cannot join our transaction; for them the
emails and deliveries are written with the change and only the enqueue of
their sending waits for the commit.
"""

import contextlib
import contextvars
import datetime
from collections.abc import Iterator

from cases.models import CaseEvent, Release

_silenced: contextvars.ContextVar[bool] = contextvars.ContextVar("silenced", default=False)


@contextlib.contextmanager
def silenced() -> Iterator[None]:
    """Record events without emailing or calling webhooks (replaying history on import)."""
    token = _silenced.set(True)
    try:
        yield
    finally:
        _silenced.reset(token)


def event_recorded(event: CaseEvent) -> None:
    """Queue the emails and webhooks of `event`, just written in the current transaction."""
    if _silenced.get():
        return
    from notifications.dispatch import queue_for_event

    queue_for_event(event)


def release_published(release: Release, *, at: datetime.datetime) -> None:
    """Queue the `release.published` webhooks of `release`, just published."""
    if _silenced.get():
        return
    from notifications.dispatch import queue_for_release

    queue_for_release(release, at=at)
