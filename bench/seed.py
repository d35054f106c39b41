"""
Seed a PostgreSQL database with N cases for the benchmark.

This is bulk test data, not product behaviour: organizations and people are
made with the ORM, but cases, comments and history are written straight to
their tables with COPY, bypassing ``cases.services``. Running a million cases
through the services would take hours; instead each case copies the shape of
a random case of the demo corpus (initial and final type, final status,
resolution, severity, channel), so types, statuses and the rest come in the
corpus's proportions, and its history is the chain of events the services
would have written to bring it there. ``version``, ``updated_at`` and the last
message times are computed from that history, as the services keep them.
"""

import bisect
import calendar
import dataclasses
import datetime
import json
import os
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from accounts.models import ApiToken, Organization, Role, Session, User
from accounts.roles import assign_role, role_group
from cases.models import (
    RESOLUTIONS_BY_TYPE,
    Attachment,
    Case,
    CaseEvent,
    CaseType,
    Comment,
    KnowledgeArticle,
    Release,
    Resolution,
    Status,
)

CORPUS = Path(__file__).resolve().parent.parent / "cases" / "fixtures" / "demo-corpus.json"
PASSWORD = "bench-password"
CUSTOMER_EMAIL = "bench-customer@bench-org-0000.example.com"
SUPPORT_EMAIL = "bench-support@vendor.example.com"
COMMENTS_PER_CASE = 3
YEARS = 8
HOUR = 3600
DAY = 24 * HOUR
# Share of staff replies written as internal notes.
INTERNAL_NOTE_SHARE = 0.2
# Connections building the indexes at once, after the rows are in.
INDEX_BUILDERS = max(2, os.cpu_count() or 1)


@dataclasses.dataclass(frozen=True)
class Profile:
    """What one corpus case looks like at the end of its history."""

    initial_type: str
    final_type: str
    status: str
    resolution: str
    severity: int
    channel: str
    reopened: bool


@dataclasses.dataclass
class SeedReport:
    cases: int
    comments: int
    events: int
    organizations: int
    users: int
    seconds: float
    proportions: dict[str, dict[str, float]]


def _replay(record: dict[str, Any], staff: set[str]) -> Profile:
    """Return the final state of a corpus case, following the importer's implied steps."""
    status, type_, resolution, reopened = Status.NEW, record["initial_type"], "", False
    for event in record["events"]:
        kind = event["kind"]
        actor = event.get("author") or event.get("by")
        if status == Status.NEW and (
            kind in ("reclassify", "target_release", "resolve")
            or (kind == "comment" and actor in staff)
        ):
            status = Status.OPEN
        if kind == "comment" and actor not in staff and status == Status.WAITING_ON_CUSTOMER:
            status = Status.OPEN
        elif kind == "reclassify":
            type_ = event["to"]
            if type_ == CaseType.ISSUE and status in (Status.IN_ENGINEERING, Status.FIX_SCHEDULED):
                status = Status.OPEN
        elif kind == "target_release":
            status = Status.FIX_SCHEDULED
        elif kind == "resolve":
            status, resolution = Status.RESOLVED, event["resolution"]
        elif kind == "close":
            status = Status.CLOSED
        elif kind == "reopen":
            status, resolution, reopened = Status.OPEN, "", True
        elif kind == "transition":
            status = {
                "acknowledge": Status.OPEN,
                "request_info": Status.WAITING_ON_CUSTOMER,
                "customer_replied": Status.OPEN,
                "escalate": Status.IN_ENGINEERING,
                "close": Status.CLOSED,
                "reopen": Status.OPEN,
            }.get(event["name"], status)
    return Profile(
        initial_type=record["initial_type"],
        final_type=type_,
        status=status,
        resolution=resolution,
        severity=int(record["severity"]),
        channel=record["channel"],
        reopened=reopened,
    )


def load_corpus(path: Path = CORPUS) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def corpus_profiles(corpus: dict[str, Any]) -> list[Profile]:
    """Return the final shape of every case of the corpus."""
    staff = {u["key"] for u in corpus["users"] if u.get("role") in ("support", "engineering")}
    return [_replay(record, staff) for record in corpus["cases"]]


def proportions(profiles: list[Profile]) -> dict[str, dict[str, float]]:
    """Return the share of each type, status, severity and channel among `profiles`."""
    out: dict[str, dict[str, float]] = {}
    for name in ("final_type", "status", "severity", "channel"):
        counts = Counter(str(getattr(p, name)) for p in profiles)
        out[name] = {k: round(v / len(profiles), 4) for k, v in sorted(counts.items())}
    return out


def _escape(text: str) -> str:
    """Return `text` escaped for PostgreSQL's COPY text format."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _organization_weights(count: int) -> list[float]:
    # A few large customers and a long tail, as a vendor's book of business
    # looks; the benchmark's customer belongs to the largest.
    return [1 / (rank**0.8) for rank in range(1, count + 1)]


def _wipe() -> None:
    tables = [
        m._meta.db_table
        for m in (CaseEvent, Attachment, Comment, Case, KnowledgeArticle, Release, ApiToken)
    ]
    tables += [User.groups.through._meta.db_table, User._meta.db_table]
    tables += [Organization._meta.db_table, Session._meta.db_table, "django_session"]
    # The queue: tasks of earlier runs point at events that are gone.
    tables += ["django_admin_log", "django_tasks_database_dbtaskresult"]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


def _secondary_indexes(tables: list[str]) -> list[tuple[str, str]]:
    """Return (name, definition) of the indexes of `tables` that back no constraint.

    The definitions are also kept in a table until the indexes are built
    again, so that a seed interrupted in between does not lose them: the next
    seed builds them too.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_seed_index (name text PRIMARY KEY, definition text)"
        )
        cursor.execute(
            "INSERT INTO bench_seed_index SELECT indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = 'public' AND tablename = ANY(%s) "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint) ON CONFLICT DO NOTHING",
            [tables],
        )
        cursor.execute("SELECT name, definition FROM bench_seed_index ORDER BY name")
        return list(cursor.fetchall())


def _build_indexes(indexes: list[tuple[str, str]], tables: list[str]) -> None:
    """Build `indexes` on several connections at once, the slowest first; then forget them."""
    # A GIN index over text is much the slowest to build, and PostgreSQL builds
    # each on one process; the others take time in proportion to their table.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, pg_relation_size(oid) FROM pg_class WHERE relname = ANY(%s)", [tables]
        )
        sizes = dict(cursor.fetchall())
    pending: queue.Queue[str] = queue.Queue()
    for _name, definition in sorted(
        indexes,
        key=lambda index: (" USING gin " not in index[1], -sizes.get(_table(index[1]), 0)),
    ):
        pending.put(definition)
    errors: list[BaseException] = []

    def build() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET maintenance_work_mem = '512MB'")
                while not errors:
                    try:
                        definition = pending.get_nowait()
                    except queue.Empty:
                        return
                    cursor.execute(definition)
        except BaseException as error:  # raised below, in the calling thread
            errors.append(error)
        finally:
            connection.close()

    builders = [threading.Thread(target=build) for _ in range(INDEX_BUILDERS)]
    for thread in builders:
        thread.start()
    for thread in builders:
        thread.join()
    if errors:
        raise errors[0]
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE bench_seed_index")


def _table(definition: str) -> str:
    return definition.split(" ON ", 1)[1].split()[0].removeprefix("public.")


def _people(
    *, cases: int, corpus: dict[str, Any]
) -> tuple[list[int], list[list[int]], list[int], dict[int, str]]:
    """Create organizations, customers and staff; return org ids, customers per org, support."""
    org_count = max(10, cases // 500)
    Organization.objects.bulk_create(
        Organization(
            slug=f"bench-org-{i:04d}",
            name=f"Bench Organization {i:04d}",
            domain=f"bench-org-{i:04d}.example.com",
        )
        for i in range(org_count)
    )
    orgs = list(Organization.objects.order_by("pk").values_list("pk", flat=True))
    weights = _organization_weights(org_count)
    total = sum(weights)
    password = make_password(PASSWORD)
    users: list[User] = []
    for index, org_id in enumerate(orgs):
        people = max(2, round(cases * weights[index] / total / 100))
        for n in range(people):
            email = CUSTOMER_EMAIL if (index, n) == (0, 0) else None
            users.append(
                User(
                    email=email or f"customer{n}@bench-org-{index:04d}.example.com",
                    name=f"Customer {n} of organization {index}",
                    organization_id=org_id,
                    password=password,
                )
            )
    staff_names = [u["name"] for u in corpus["users"] if u.get("role") in ("support",)]
    for n in range(20):
        email = SUPPORT_EMAIL if n == 0 else f"support{n}@vendor.example.com"
        name = staff_names[n % len(staff_names)] if staff_names else f"Support {n}"
        users.append(User(email=email, name=name, is_staff=True, password=password))
    for n in range(10):
        users.append(
            User(
                email=f"engineer{n}@vendor.example.com",
                name=f"Engineer {n}",
                is_staff=True,
                password=password,
            )
        )
    User.objects.bulk_create(users, batch_size=5000)

    customers: dict[int, list[int]] = {org_id: [] for org_id in orgs}
    support: list[int] = []
    emails: dict[int, str] = {}
    memberships = []
    groups = {role: role_group(role).pk for role in Role.values}
    for pk, org_id, email in User.objects.values_list("pk", "organization_id", "email"):
        if org_id is not None:
            customers[org_id].append(pk)
            role = Role.CUSTOMER
        elif email.startswith(("support", "bench-support")):
            support.append(pk)
            emails[pk] = email
            role = Role.SUPPORT
        else:
            role = Role.ENGINEERING
        memberships.append(User.groups.through(user_id=pk, group_id=groups[role]))
    # The signing-in users go through the project's own role assignment; the
    # thousands of others get the same group rows in bulk.
    User.groups.through.objects.bulk_create(memberships, batch_size=10000)
    for email in (CUSTOMER_EMAIL, SUPPORT_EMAIL):
        user = User.objects.get(email=email)
        assign_role(user, Role.CUSTOMER if user.is_customer else Role.SUPPORT)
    return orgs, [customers[o] for o in orgs], support, emails


@dataclasses.dataclass
class _Releases:
    # (published epoch seconds, id, version), sorted by date.
    published: list[tuple[float, int, str]]
    upcoming: tuple[int, str]

    def after(self, at: float) -> tuple[float, int, str]:
        for entry in self.published:
            if entry[0] > at:
                return entry
        return self.published[-1]


def _releases(start: float, end: float) -> _Releases:
    """Create a release each quarter of the seeded period, and one not yet published."""
    quarter = 91 * DAY
    rows, at, n = [], start + quarter, 0
    while at < end:
        day = datetime.datetime.fromtimestamp(at, tz=datetime.UTC).date()
        rows.append(Release(version=f"{day.year}.{(day.month - 1) // 3 + 1}.{n}", released_on=day))
        at += quarter
        n += 1
    rows.append(Release(version="next", released_on=None))
    Release.objects.bulk_create(rows)
    published = []
    for release in Release.objects.filter(released_on__isnull=False):
        assert release.released_on is not None
        day_end = calendar.timegm(release.released_on.timetuple()) + 17 * HOUR
        published.append((day_end, release.pk, release.version))
    upcoming = Release.objects.get(version="next")
    return _Releases(sorted(published), (upcoming.pk, upcoming.version))


def _articles(corpus: dict[str, Any]) -> list[tuple[int, str]]:
    KnowledgeArticle.objects.bulk_create(
        KnowledgeArticle(slug=a["key"], title=a["title"], body=a["body"])
        for a in corpus["kb_articles"]
    )
    return list(KnowledgeArticle.objects.values_list("pk", "slug"))


class _Writer:
    """Accumulate rows of the three bulk tables as COPY text, and flush them."""

    CASE_COLUMNS = (
        "id, type, status, subject, description, severity, product_version, organization_id, "
        "reporter_id, assignee_id, channel, target_release_id, resolution, knowledge_article_id, "
        "external_id, created_at, updated_at, resolved_at, last_customer_message_at, "
        "last_staff_message_at, version, comment_count, public_comment_count"
    )
    COMMENT_COLUMNS = "id, case_id, author_id, body, is_public, created_at"
    EVENT_COLUMNS = (
        "id, case_id, at, actor_id, kind, transition, from_value, to_value, reason, is_public, "
        "comment_id, data"
    )

    def __init__(self) -> None:
        self.cases: list[str] = []
        self.comments: list[str] = []
        self.events: list[str] = []
        self.totals = Counter[str]()
        # PostgreSQL parses one batch of each table while Python generates the
        # next, each table on a connection of its own.
        self.tables = (
            (Case._meta.db_table, self.CASE_COLUMNS, self.cases),
            (Comment._meta.db_table, self.COMMENT_COLUMNS, self.comments),
            (CaseEvent._meta.db_table, self.EVENT_COLUMNS, self.events),
        )
        self.pending: dict[str, queue.Queue[str | None]] = {
            table: queue.Queue(maxsize=2) for table, _columns, _rows in self.tables
        }
        self.error: BaseException | None = None
        self.threads = [
            threading.Thread(target=self._copy, args=(table, columns), daemon=True)
            for table, columns, _rows in self.tables
        ]
        for thread in self.threads:
            thread.start()

    def _copy(self, table: str, columns: str) -> None:
        pending = self.pending[table]
        try:
            connection.ensure_connection()
            with connection.connection.cursor() as cursor:
                # The rows are consistent by construction: skip the per-row
                # foreign key triggers.
                cursor.execute("SET session_replication_role = replica")
                cursor.execute("SET synchronous_commit = off")
                while (text := pending.get()) is not None:
                    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                        copy.write(text)
        except BaseException as error:  # reported by close()
            self.error = error
            while pending.get() is not None:
                pass
        finally:
            connection.close()

    def flush(self) -> None:
        for table, _columns, rows in self.tables:
            if rows:
                self.pending[table].put("".join(rows))
                self.totals[table] += len(rows)
                rows.clear()

    def close(self) -> None:
        """Wait for the last batches to be written; raise what writing raised."""
        self.flush()
        for pending in self.pending.values():
            pending.put(None)
        for thread in self.threads:
            thread.join()
        if self.error is not None:
            raise self.error


# A time in a template: an offset in seconds from the case's filing (anchor 0)
# or from the publication of the release its fix shipped in (anchor 1).
At = tuple[int, float]
CREATED, RELEASED = 0, 1
# Who acted, in a template: the reporter, the case's support engineer, nobody.
REPORTER, STAFF, SYSTEM = "r", "s", ""


@dataclasses.dataclass
class _Template:
    """The history of every seeded case of one profile, with times and people left open."""

    profile: Profile
    status: str = Status.NEW
    # (time, actor, the row's columns after the actor; "{release}" is filled per case).
    events: list[tuple[At, str, str]] = dataclasses.field(default_factory=list)
    # (time, author, staff?, public?, the event's position in `events`).
    comments: list[tuple[At, str, bool, bool]] = dataclasses.field(default_factory=list)
    assigned: bool = False
    target: str = ""  # "", "upcoming" or "shipped"
    schedule_at: float = 0.0
    resolution: str = ""
    article: str = ""
    resolved_at: At | None = None
    last_customer: At = (CREATED, 0.0)
    last_staff: At | None = None

    def event(
        self,
        at: At,
        actor: str,
        kind: str,
        transition: str = "",
        from_value: str = "",
        to_value: str = "",
        reason: str = "",
        public: bool = True,
        data: str = "{}",
    ) -> None:
        flag = "t" if public else "f"
        columns = f"{kind}\t{transition}\t{from_value}\t{to_value}\t{reason}\t{flag}"
        self.events.append((at, actor, f"{columns}\t{{comment}}\t{data}"))

    def comment(self, at: At, author: str, staff: bool, public: bool = True) -> None:
        self.comments.append((at, author, staff, public))
        self.event(at, author, "commented", public=public)
        if public and staff:
            self.last_staff = at
        elif public:
            self.last_customer = at

    def move(self, at: At, actor: str, name: str, to: str, data: str = "{}") -> None:
        self.event(at, actor, "status_changed", name, self.status, to, data=data)
        self.status = to

    @property
    def version(self) -> int:
        # Filing is version 1; every later service call bumps it once.
        return len(self.events)

    @property
    def needs_release(self) -> bool:
        return self.target == "shipped"


def _template(p: Profile, *, internal_note: bool, article: str) -> _Template:
    """Return the history the services would have written to bring a case to `p`."""
    h = _Template(profile=p)
    filer = STAFF if p.channel == "phone" else REPORTER
    h.event(
        (CREATED, 0), filer, "filed", to_value=p.initial_type, data=f'{{"channel": "{p.channel}"}}'
    )
    if p.status == Status.NEW:
        for n in range(COMMENTS_PER_CASE):
            h.comment((CREATED, (n + 1) * HOUR), REPORTER, staff=False)
        return h
    h.move((CREATED, 2 * HOUR), STAFF, "acknowledge", Status.OPEN)
    h.assigned = True
    h.event((CREATED, 2 * HOUR + 60), STAFF, "assigned", to_value="{staff_email}", public=False)
    h.comment((CREATED, 3 * HOUR), STAFF, staff=True)
    h.comment((CREATED, DAY), REPORTER, staff=False)
    if p.initial_type != p.final_type:
        h.event(
            (CREATED, DAY + HOUR),
            STAFF,
            "reclassified",
            from_value=p.initial_type,
            to_value=p.final_type,
            reason="Reclassified after reproducing it.",
        )
    h.comment((CREATED, DAY + 2 * HOUR), STAFF, staff=True, public=not internal_note)
    t: At = (CREATED, 2 * DAY)
    finished = p.status in (Status.RESOLVED, Status.CLOSED)
    if p.status == Status.WAITING_ON_CUSTOMER:
        h.move(t, STAFF, "request_info", Status.WAITING_ON_CUSTOMER)
    elif p.status in (Status.IN_ENGINEERING, Status.FIX_SCHEDULED) or (
        finished and p.resolution == Resolution.FIXED_IN_RELEASE
    ):
        h.move(t, STAFF, "escalate", Status.IN_ENGINEERING)
        if p.status != Status.IN_ENGINEERING:
            t = (CREATED, 3 * DAY)
            h.target, h.schedule_at = ("shipped" if finished else "upcoming"), t[1]
            h.move(t, STAFF, "schedule_fix", Status.FIX_SCHEDULED, data='{"release": "{release}"}')
            if finished:
                t = (RELEASED, 0)
                h.resolution, h.resolved_at = Resolution.FIXED_IN_RELEASE, t
                h.move(
                    t,
                    SYSTEM,
                    "release_published",
                    Status.RESOLVED,
                    data=f'{{"release": "{{release}}", "resolution": "{h.resolution}"}}',
                )
    elif finished or p.reopened:
        h.resolution = p.resolution or RESOLUTIONS_BY_TYPE[p.final_type][0]
        data = f'{{"resolution": "{h.resolution}"}}'
        if h.resolution == Resolution.KB_ARTICLE:
            h.article = article
            data = f'{{"resolution": "{h.resolution}", "knowledge_article": "{article}"}}'
        h.move(t, STAFF, "resolve", Status.RESOLVED, data=data)
        h.resolved_at = t
        if p.reopened and not finished:
            t = (CREATED, 3 * DAY)
            h.event(
                t,
                REPORTER,
                "status_changed",
                "reopen",
                Status.RESOLVED,
                Status.OPEN,
                reason="The problem came back.",
            )
            h.status, h.resolution, h.article, h.resolved_at = Status.OPEN, "", "", None
    if p.status == Status.CLOSED:
        h.move((t[0], t[1] + 2 * DAY), REPORTER, "close", Status.CLOSED)
    return h


class _Clock:
    """Format epoch seconds as PostgreSQL timestamps, caching the date part."""

    def __init__(self) -> None:
        self.days: dict[int, str] = {}

    def __call__(self, seconds: float) -> str:
        day, rest = divmod(int(seconds), DAY)
        date = self.days.get(day)
        if date is None:
            date = self.days[day] = time.strftime("%Y-%m-%d", time.gmtime(day * DAY))
        hours, rest = divmod(rest, HOUR)
        minutes, secs = divmod(rest, 60)
        return f"{date} {hours:02d}:{minutes:02d}:{secs:02d}+00"


N = "\\N"


def _generate(
    *,
    cases: int,
    rng: random.Random,
    profiles: list[Profile],
    orgs: list[int],
    customers: list[list[int]],
    support: list[int],
    emails: dict[int, str],
    releases: _Releases,
    articles: list[tuple[int, str]],
    texts: dict[str, list[str]],
    writer: _Writer,
    batch: int,
) -> None:
    now = time.time()
    end = now - 90 * DAY
    start = end - YEARS * 365 * DAY
    step = (end - start) / cases
    org_cum = list(_cumulative(_organization_weights(len(orgs))))
    article_ids = {slug: pk for pk, slug in articles}
    templates = [
        _template(p, internal_note=internal, article=articles[i % len(articles)][1])
        for i, p in enumerate(profiles)
        for internal in (False, True)
    ]
    # Internal notes are a fifth of the third replies: weight the two variants.
    weights = [1 - INTERNAL_NOTE_SHARE, INTERNAL_NOTE_SHARE] * len(profiles)
    template_cum = list(_cumulative(weights))
    subjects, descriptions = texts["subjects"], texts["descriptions"]
    bodies = {True: texts["staff"], False: texts["customer"]}
    ts = _Clock()
    case_rows, comment_rows, event_rows = writer.cases, writer.comments, writer.events
    comment_id = event_id = 0
    upcoming_id, upcoming_version = releases.upcoming
    random_ = rng.random
    for case_id in range(1, cases + 1):
        h = templates[_pick(template_cum, random_())]
        p = h.profile
        org_index = _pick(org_cum, random_())
        people = customers[org_index]
        reporter = people[int(random_() * len(people))]
        staff = support[int(random_() * len(support))]
        created = start + (case_id - 1 + random_()) * step
        anchors = [created, 0.0]
        release_version, release_id = "", ""
        if h.target == "upcoming":
            release_id, release_version = str(upcoming_id), upcoming_version
        elif h.target == "shipped":
            released, shipped_id, release_version = releases.after(created + h.schedule_at)
            anchors[RELEASED] = max(released, created + h.schedule_at + HOUR)
            release_id = str(shipped_id)
        actors = {REPORTER: str(reporter), STAFF: str(staff), SYSTEM: N}
        comment_ids: dict[float, int] = {}
        for n, ((anchor, offset), author, staff_side, public) in enumerate(h.comments):
            comment_id += 1
            at = anchors[anchor] + offset
            comment_ids[offset] = comment_id
            body = bodies[staff_side][(case_id + n) % len(bodies[staff_side])]
            comment_rows.append(
                f"{comment_id}\t{case_id}\t{actors[author]}\t{body}\t"
                f"{'t' if public else 'f'}\t{ts(at)}\n"
            )
        updated = created
        for (anchor, offset), actor, columns in h.events:
            event_id += 1
            at = anchors[anchor] + offset
            updated = max(updated, at)
            cid = comment_ids.get(offset, N) if columns.startswith("commented") else N
            row = columns.replace("{comment}", str(cid))
            if "{release}" in row or "{staff_email}" in row:
                row = row.replace("{release}", release_version).replace(
                    "{staff_email}", emails[staff]
                )
            event_rows.append(f"{event_id}\t{case_id}\t{ts(at)}\t{actors[actor]}\t{row}\n")
        resolved_at = ts(anchors[h.resolved_at[0]] + h.resolved_at[1]) if h.resolved_at else N
        last_staff = ts(anchors[h.last_staff[0]] + h.last_staff[1]) if h.last_staff else N
        case_rows.append(
            f"{case_id}\t{p.final_type}\t{h.status}\t{subjects[case_id % len(subjects)]}\t"
            f"{descriptions[case_id % len(descriptions)]}\t{p.severity}\t\t{orgs[org_index]}\t"
            f"{reporter}\t{staff if h.assigned else N}\t{p.channel}\t{release_id or N}\t"
            f"{h.resolution}\t{article_ids[h.article] if h.article else N}\t{N}\t"
            f"{ts(created)}\t{ts(updated)}\t{resolved_at}\t"
            f"{ts(anchors[h.last_customer[0]] + h.last_customer[1])}\t{last_staff}\t{h.version}\t"
            f"{len(h.comments)}\t{sum(1 for c in h.comments if c[3])}\n"
        )
        if case_id % batch == 0:
            writer.flush()
    writer.close()


def _cumulative(weights: list[float]) -> Iterator[float]:
    total = 0.0
    whole = sum(weights)
    for w in weights:
        total += w / whole
        yield total


def _pick(cumulative: list[float], x: float) -> int:
    return min(bisect.bisect_left(cumulative, x), len(cumulative) - 1)


def _texts(corpus: dict[str, Any]) -> dict[str, list[str]]:
    staff = {u["key"] for u in corpus["users"] if u.get("role") in ("support", "engineering")}
    bodies: dict[bool, list[str]] = {True: [], False: []}
    for record in corpus["cases"]:
        for event in record["events"]:
            if event["kind"] == "comment":
                bodies[event["author"] in staff].append(_escape(event["body"]))
    return {
        "subjects": [_escape(r["subject"]) for r in corpus["cases"]],
        "descriptions": [_escape(r["description"]) for r in corpus["cases"]],
        "staff": bodies[True],
        "customer": bodies[False],
    }


def seed(
    *, cases: int, batch: int = 20000, random_seed: int = 7, log: Callable[[str], Any] = print
) -> SeedReport:
    """Replace everything in the database with `cases` seeded cases and their people."""
    if connection.vendor != "postgresql":
        raise RuntimeError("The benchmark seeds PostgreSQL only (COPY).")
    began = time.perf_counter()
    rng = random.Random(random_seed)
    corpus = load_corpus()
    profiles = corpus_profiles(corpus)
    tables = [Case._meta.db_table, Comment._meta.db_table, CaseEvent._meta.db_table]
    with transaction.atomic():
        _wipe()
        orgs, customers, support, emails = _people(cases=cases, corpus=corpus)
        now = time.time()
        releases = _releases(now - 90 * DAY - YEARS * 365 * DAY, now - 30 * DAY)
        articles = _articles(corpus)
        # Build the secondary indexes once at the end rather than maintaining
        # them row by row.
        indexes = _secondary_indexes(tables)
        with connection.cursor() as cursor:
            for name, _definition in indexes:
                cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
    log(f"people: {time.perf_counter() - began:.1f}s")
    # Committed, so that several connections can write the rows, and then
    # build the indexes, at once. Until the indexes are built the database is
    # not a seeded one: the harness records the seed only when this returns.
    writer = _Writer()
    _generate(
        cases=cases,
        rng=rng,
        profiles=profiles,
        orgs=orgs,
        customers=customers,
        support=support,
        emails=emails,
        releases=releases,
        articles=articles,
        texts=_texts(corpus),
        writer=writer,
        batch=batch,
    )
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            )
    log(f"rows: {time.perf_counter() - began:.1f}s")
    _build_indexes(indexes, tables)
    log(f"indexes: {time.perf_counter() - began:.1f}s")
    # VACUUM, not only ANALYZE: it is what autovacuum does to a table in
    # production, and it marks the pages all-visible, without which PostgreSQL
    # cannot answer a count or a key lookup from an index alone. The rows were
    # committed by other connections, outside any transaction of this one.
    people = [User._meta.db_table, Organization._meta.db_table]
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(tables + people)}")
    seconds = time.perf_counter() - began
    log(f"vacuumed and analyzed: {seconds:.1f}s")
    return SeedReport(
        cases=writer.totals[Case._meta.db_table],
        comments=writer.totals[Comment._meta.db_table],
        events=writer.totals[CaseEvent._meta.db_table],
        organizations=len(orgs),
        users=User.objects.count(),
        seconds=round(seconds, 1),
        proportions=proportions(profiles),
    )
