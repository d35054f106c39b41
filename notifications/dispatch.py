"""
Decide, inside the transaction of a change, what to tell whom, and queue it.

Each email and each webhook delivery becomes a row here and one task. With the
database task backend the task row joins our transaction; with any other
backend the enqueue waits for the commit (the rows it ships are already safe
in the database, so a lost enqueue is recoverable by redelivery).
"""

import datetime
import uuid
from collections.abc import Iterable
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.db.models.sql import Query
from django.tasks import Task
from django_tasks_db import DatabaseBackend

from accounts.models import User
from cases.models import Case, CaseEvent, EventKind, Release, Status
from notifications.models import (
    CaseFollower,
    EmailKind,
    NotificationPreference,
    OutboundEmail,
    WebhookDelivery,
    WebhookEventKind,
    WebhookSubscription,
)
from portal import rows

# Namespace of the webhook event ids: one event has the same id for every
# subscription and every redelivery, so receivers can drop duplicates.
EVENT_ID_NAMESPACE = uuid.UUID("6f1c2a8e-9d4b-4c37-8a55-0c2f3e7d9b10")


def enqueue(task: Task, *args: Any) -> None:
    """Enqueue `task` in the current transaction if the queue is in our database, else on commit."""
    if isinstance(task.get_backend(), DatabaseBackend):
        task.enqueue(*args)
    else:
        transaction.on_commit(lambda: task.enqueue(*args))


def queue_for_event(event: CaseEvent) -> None:
    """
    Make sure the emails and webhooks of `event` go out, once its change commits.

    With the queue in our database, the change writes one task row, and the
    worker decides who hears of the event (plan_event): a comment or a
    reclassification then reads no recipients or subscriptions and writes no
    email rows before it answers. The task commits, or rolls back, with the
    change, so nothing is lost and nothing goes out for a change that did not
    happen. Another queue cannot join our transaction: the emails and
    deliveries are then written with the change, and only their sending waits
    for the commit, so that a lost enqueue can be redelivered.
    """
    from notifications import tasks

    if email_kind(event) is None and event.kind not in _WEBHOOK_KINDS:
        return
    if isinstance(tasks.plan_notifications.get_backend(), DatabaseBackend):
        tasks.plan_notifications.enqueue(event.pk)
    else:
        plan_event(event)


def plan_event(event: CaseEvent) -> None:
    """Write the emails and webhook deliveries of `event` and enqueue the tasks that send them."""
    from notifications import tasks

    for email in plan_emails(event):
        enqueue(tasks.send_notification_email, email.pk)
    for delivery in plan_deliveries(event):
        enqueue(tasks.deliver_webhook, delivery.pk)


def queue_for_release(release: Release, *, at: datetime.datetime) -> None:
    from notifications import tasks

    event_id = uuid.uuid5(EVENT_ID_NAMESPACE, f"release:{release.pk}:published")
    subscriptions = _subscriptions(WebhookEventKind.RELEASE_PUBLISHED)
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            subscription=subscription,
            event_id=event_id,
            kind=WebhookEventKind.RELEASE_PUBLISHED,
            release=release,
            occurred_at=at,
        )
        for subscription in subscriptions
    )
    for delivery in deliveries:
        enqueue(tasks.deliver_webhook, delivery.pk)


# Emails --------------------------------------------------------------------


def email_kind(event: CaseEvent) -> str | None:
    """Return the kind of email `event` sends, or None; internal events send none."""
    if not event.is_public:
        return None
    if event.kind == EventKind.FILED:
        return EmailKind.CASE_FILED
    if event.kind == EventKind.COMMENTED:
        if event.comment is None or not event.comment.is_public:
            return None
        if event.actor is not None and event.actor.is_customer:
            return EmailKind.CUSTOMER_REPLY
        return EmailKind.SUPPORT_REPLY
    if event.kind == EventKind.RECLASSIFIED:
        return EmailKind.RECLASSIFIED
    if event.kind == EventKind.STATUS_CHANGED:
        if event.transition == "reopen":
            return EmailKind.REOPENED
        if event.to_value == Status.WAITING_ON_CUSTOMER:
            return EmailKind.WAITING_ON_CUSTOMER
        if event.to_value == Status.RESOLVED:
            return EmailKind.RESOLVED
    return None


def recipients(case: Case, kind: str, actor: User | None) -> list[int]:
    """Return the ids of who gets an email of `kind` about `case`, honouring their preferences."""
    if kind == EmailKind.CUSTOMER_REPLY:
        assignee = case.assignee
        people = [assignee.pk] if assignee and assignee.is_active and assignee.is_staff else []
        muted = set()
        if people:
            with connection.cursor() as cursor:
                cursor.execute(_muted_sql(), [people[0], kind, False])
                muted = {pk for (pk,) in cursor.fetchall()}
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                _customers_sql(),
                [kind, False, case.organization_id, True, case.reporter_id, case.pk],
            )
            rows = cursor.fetchall()
        # The reporter first, then the followers by id.
        people = sorted((pk for pk, _ in rows), key=lambda pk: (pk != case.reporter_id, pk))
        muted = {pk for pk, turned_off in rows if turned_off}
    # The reporter is told their case was filed even when they filed it themselves.
    if actor is not None and not (kind == EmailKind.CASE_FILED and actor.pk == case.reporter_id):
        people = [pk for pk in people if pk != actor.pk]
    return [pk for pk in people if pk not in muted]


@cache
def _muted_sql() -> str:
    """Return the SQL of whether a user turned a kind of email off (see _customers_sql)."""
    table = connection.ops.quote_name(NotificationPreference._meta.db_table)
    return (
        f"SELECT user_id FROM {table}"  # nosec B608 - quoted table name; values are parameters
        " WHERE user_id = %s AND kind = %s AND enabled = %s"
    )


@cache
def _customers_sql() -> str:
    """
    Return the SQL of the active reporter and followers of a case in its organization.

    Each row is a user's id and whether they turned the kind of email off.
    It runs for nearly every change of a case; built through the ORM, the
    query cost several times the CPU the rest of planning the email does.
    """
    quote = connection.ops.quote_name
    return (
        "SELECT u.id, EXISTS ("  # nosec B608 - quoted table names; values are parameters
        f"SELECT 1 FROM {quote(NotificationPreference._meta.db_table)} p"
        " WHERE p.user_id = u.id AND p.kind = %s AND p.enabled = %s"
        f") FROM {quote(User._meta.db_table)} u"
        " WHERE u.organization_id = %s AND u.is_active = %s AND (u.id = %s OR u.id IN ("
        f"SELECT f.user_id FROM {quote(CaseFollower._meta.db_table)} f WHERE f.case_id = %s))"
    )


def thread_id(case: Case) -> str:
    """Return the Message-ID that every email of `case` refers to, so clients thread them."""
    from django.conf import settings

    return f"<{case.number.lower()}@{settings.CASEBOOK_EMAIL_DOMAIN}>"


def plan_emails(event: CaseEvent) -> list[OutboundEmail]:
    """Write the emails `event` sends (one row each) and return them."""
    from django.conf import settings

    kind = email_kind(event)
    if kind is None:
        return []
    case = event.case
    emails = []
    for user_id in recipients(case, kind, event.actor):
        if kind == EmailKind.CASE_FILED and user_id == case.reporter_id:
            # The first email of the thread: the one every later email refers to.
            message_id = thread_id(case)
        else:
            message_id = (
                f"<{case.number.lower()}.e{event.pk}.u{user_id}@{settings.CASEBOOK_EMAIL_DOMAIN}>"
            )
        emails.append(
            OutboundEmail(
                case=case,
                event=event,
                recipient_id=user_id,
                kind=kind,
                message_id=message_id,
                created_at=event.at,
            )
        )
    if len(emails) == 1:
        rows.insert(emails[0])
        return emails
    return OutboundEmail.objects.bulk_create(emails)


def follow_case(*, case: Case, user: User) -> CaseFollower:
    """Make `user`, a customer of the case's organization, receive its emails."""
    follower = CaseFollower(case=case, user=user)
    follower.full_clean(validate_constraints=False)
    return CaseFollower.objects.get_or_create(case=case, user=user)[0]


def unfollow_case(*, case: Case, user: User) -> None:
    """Stop sending `user` the emails of `case` (the reporter still gets them)."""
    CaseFollower.objects.filter(case=case, user=user).delete()


def email_kinds_for(user: User) -> list[EmailKind]:
    """Return the kinds of email `user` may receive, in the order a settings page lists them."""
    # Customer replies go to the assignee, who is staff; every other kind goes to customers.
    if user.is_staff:
        return [EmailKind.CUSTOMER_REPLY]
    return [kind for kind in EmailKind if kind != EmailKind.CUSTOMER_REPLY]


def muted_email_kinds(user: User) -> set[str]:
    """Return the kinds of email `user` turned off."""
    return set(
        NotificationPreference.objects.filter(user=user, enabled=False).values_list(
            "kind", flat=True
        )
    )


@transaction.atomic
def set_email_preferences(*, user: User, enabled: Iterable[str]) -> None:
    """Turn on the kinds of email in `enabled` and off every other kind `user` may receive."""
    wanted = set(enabled)
    for kind in email_kinds_for(user):
        NotificationPreference.objects.update_or_create(
            user=user, kind=kind, defaults={"enabled": kind in wanted}
        )


# Webhooks ------------------------------------------------------------------

_WEBHOOK_KINDS = {
    EventKind.FILED: WebhookEventKind.CASE_CREATED,
    EventKind.COMMENTED: WebhookEventKind.CASE_COMMENTED,
    EventKind.RECLASSIFIED: WebhookEventKind.CASE_RECLASSIFIED,
    EventKind.STATUS_CHANGED: WebhookEventKind.CASE_STATUS_CHANGED,
}


def _subscriptions(kind: str, case: Case | None = None) -> Iterable[WebhookSubscription]:
    # Written out for the reason of _customers_sql: every change of a case asks,
    # and most find none; a raw queryset costs several times more even then.
    meta = WebhookSubscription._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in meta.concrete_fields)
    sql = f"SELECT {columns} FROM {quote(meta.db_table)}"  # nosec B608 - quoted names; values are parameters
    sql += " WHERE is_active = %s"
    params: list[Any] = [True]
    if case is not None:
        sql += " AND (organization_id IS NULL OR organization_id = %s)"
        params.append(case.organization_id)
    with connection.cursor() as cursor:
        cursor.execute(sql + " ORDER BY id", params)
        found: Iterable[Any] = cursor.fetchall()
    if not found:
        return []
    compiler = connection.ops.compiler("SQLCompiler")(
        Query(WebhookSubscription), connection, connection.alias
    )
    converters = compiler.get_converters(
        [field.get_col(meta.db_table) for field in meta.concrete_fields]
    )
    if converters:
        found = compiler.apply_converters(found, converters)
    names = [field.attname for field in meta.concrete_fields]
    subscriptions = [WebhookSubscription.from_db(connection.alias, names, row) for row in found]
    # The kinds are a JSON list; filtering in Python works the same on every database.
    return [s for s in subscriptions if kind in (s.event_kinds or [])]


def plan_deliveries(event: CaseEvent) -> list[WebhookDelivery]:
    """Write the webhook deliveries of `event` (one per subscription that wants it)."""
    kind = _WEBHOOK_KINDS.get(EventKind(event.kind))
    if kind is None:
        return []
    subscriptions = [
        s for s in _subscriptions(kind, event.case) if event.is_public or not s.is_customer_side
    ]
    event_id = uuid.uuid5(EVENT_ID_NAMESPACE, f"case-event:{event.pk}")
    return WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            subscription=subscription,
            event_id=event_id,
            kind=kind,
            case_event=event,
            occurred_at=event.at,
        )
        for subscription in subscriptions
    )
