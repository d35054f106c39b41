"""
Import and export of case corpora in the ``case-corpus/1`` format.

The importer validates the whole file, then replays every case's history
through the services (so the corpus is judged by the real rules), keeping the
corpus's times and actors. Any invalid record means nothing is written.

The exporter writes the same format. It marks its output
``"status_steps": "explicit"``: every status step is written as an event of its
own, so the importer takes no implied step (acknowledge, escalate) for it.
"""

import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import Organization, Role, User
from accounts.roles import assign_role, role_of
from cases import notifications, services
from cases.exceptions import CaseError
from cases.models import (
    Case,
    CaseType,
    Channel,
    EventKind,
    KnowledgeArticle,
    Release,
    Resolution,
    Status,
)

FORMAT = "case-corpus/1"
EVENT_ACTOR = {"comment": "author"}
EVENT_KINDS = (
    "comment",
    "reclassify",
    "target_release",
    "resolve",
    "close",
    "reopen",
    "transition",
    "assign",
)
IMPLIED_ACKNOWLEDGE = ("comment", "reclassify", "target_release", "resolve")


@dataclass(frozen=True)
class CorpusError:
    record: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.record}: {self.field}: {self.message}"


@dataclass
class ImportReport:
    errors: list[CorpusError] = field(default_factory=list)
    imported: int = 0
    unchanged: int = 0
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_time(value: Any) -> datetime.datetime:
    """Return the aware datetime written as ISO 8601 in `value`, or raise ValueError."""
    if not isinstance(value, str):
        raise ValueError("expected an ISO 8601 date and time")
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a valid ISO 8601 date and time") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone (write Z for UTC)")
    return parsed.astimezone(datetime.UTC)


def format_time(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


# Validation ----------------------------------------------------------------


class _Checker:
    """Collect every structural error of a corpus, record by record."""

    def __init__(self, data: Any) -> None:
        self.data = data
        self.errors: list[CorpusError] = []

    def error(self, record: str, field_name: str, message: str) -> None:
        self.errors.append(CorpusError(record, field_name, message))

    def text(
        self, record: str, obj: dict[str, Any], name: str, *, max_length: int, blank: bool = False
    ) -> None:
        value = obj.get(name)
        if name not in obj:
            self.error(record, name, "This field is required.")
        elif not isinstance(value, str):
            self.error(record, name, "Must be a string.")
        elif not blank and not value.strip():
            self.error(record, name, "Must not be empty.")
        elif len(value) > max_length:
            self.error(record, name, f"At most {max_length} characters (this has {len(value)}).")
        elif "\x00" in value:
            self.error(record, name, "Must not contain NUL characters.")

    def check(self) -> list[CorpusError]:
        data = self.data
        if not isinstance(data, dict):
            self.error("file", "format", "The corpus must be a JSON object.")
            return self.errors
        if data.get("format") != FORMAT:
            self.error("file", "format", f"Expected {FORMAT!r}, got {data.get('format')!r}.")
            return self.errors
        for name in ("organizations", "users", "releases", "kb_articles", "cases"):
            if not isinstance(data.get(name, []), list):
                self.error("file", name, "Must be a list.")
            elif name != "cases" and not all(isinstance(r, dict) for r in data.get(name, [])):
                self.error("file", name, "Each entry must be an object.")
        if "cases" not in data:
            self.error("file", "cases", "This field is required.")
        if self.errors:
            return self.errors

        orgs = self._keys(data.get("organizations", []), "key", "organization")
        for org in data.get("organizations", []):
            rid = str(org.get("key"))
            self.text(rid, org, "name", max_length=200)
        self.users: dict[str, dict[str, Any]] = {}
        for user in data.get("users", []):
            rid = str(user.get("key"))
            self.text(rid, user, "key", max_length=254)
            self.text(rid, user, "email", max_length=254)
            if user.get("role") not in Role.values:
                self.error(rid, "role", f"Must be one of {', '.join(Role.values)}.")
            elif (user.get("role") == Role.CUSTOMER) != (user.get("organization") is not None):
                self.error(
                    rid, "organization", "Customers belong to one organization; staff to none."
                )
            elif user.get("organization") is not None and user["organization"] not in orgs:
                self.error(rid, "organization", f"Unknown organization {user['organization']!r}.")
            if rid in self.users:
                self.error(rid, "key", "Duplicate user key.")
            self.users[rid] = user
        self.releases: dict[str, Any] = {}
        for release in data.get("releases", []):
            rid = str(release.get("version"))
            self.text(rid, release, "version", max_length=50)
            released_on = release.get("released_on")
            if released_on is not None:
                try:
                    datetime.date.fromisoformat(released_on)
                except (TypeError, ValueError):
                    self.error(rid, "released_on", f"{released_on!r} is not a date (YYYY-MM-DD).")
            self.releases[rid] = released_on
        self.articles = self._keys(data.get("kb_articles", []), "key", "article")
        for article in data.get("kb_articles", []):
            rid = str(article.get("key"))
            self.text(rid, article, "title", max_length=200)
            self.text(rid, article, "body", max_length=1_000_000)

        seen: set[str] = set()
        for index, case in enumerate(data.get("cases", [])):
            if not isinstance(case, dict):
                self.error(f"cases[{index}]", "case", "Must be an object.")
                continue
            external_id = case.get("external_id")
            rid = external_id if isinstance(external_id, str) else ""
            if not rid.strip() or len(rid) > 100:
                rid = f"cases[{index}]"
                self.error(rid, "external_id", "A non-empty string of at most 100 characters.")
            elif rid in seen:
                self.error(rid, "external_id", "Duplicate external_id in this file.")
            seen.add(rid)
            self._check_case(rid, case, orgs)
        return self.errors

    def _keys(self, records: list[Any], key: str, what: str) -> set[str]:
        keys: set[str] = set()
        for index, record in enumerate(records):
            value = record.get(key) if isinstance(record, dict) else None
            if not isinstance(value, str) or not value:
                self.error(f"{what}s[{index}]", key, "This field is required.")
            elif value in keys:
                self.error(value, key, f"Duplicate {what} key.")
            else:
                keys.add(value)
        return keys

    def _check_case(self, rid: str, case: dict[str, Any], orgs: set[str]) -> None:
        if case.get("organization") not in orgs:
            self.error(rid, "organization", f"Unknown organization {case.get('organization')!r}.")
        reporter = self.users.get(str(case.get("reporter")))
        if reporter is None:
            self.error(rid, "reporter", f"Unknown user {case.get('reporter')!r}.")
        elif reporter.get("organization") != case.get("organization"):
            self.error(
                rid, "reporter", "The reporter must be a customer of the case's organization."
            )
        if case.get("channel") not in Channel.values:
            self.error(rid, "channel", f"Must be one of {', '.join(Channel.values)}.")
        severity = case.get("severity")
        if not isinstance(severity, int) or isinstance(severity, bool) or not 1 <= severity <= 4:
            self.error(rid, "severity", "Must be a whole number from 1 to 4.")
        self.text(rid, case, "subject", max_length=200)
        self.text(rid, case, "description", max_length=1_000_000)
        self.text(rid, case, "product_version", max_length=50, blank=True)
        for name in ("initial_type", "final_type"):
            if case.get(name) not in CaseType.values:
                self.error(
                    rid,
                    name,
                    f"Unknown case type {case.get(name)!r}; one of {', '.join(CaseType.values)}.",
                )
        if "filed_by" in case and case["filed_by"] not in self.users:
            self.error(rid, "filed_by", f"Unknown user {case['filed_by']!r}.")
        try:
            opened_at: datetime.datetime | None = parse_time(case.get("opened_at"))
        except ValueError as error:
            self.error(rid, "opened_at", str(error))
            opened_at = None
        events = case.get("events", [])
        if not isinstance(events, list):
            self.error(rid, "events", "Must be a list.")
            return
        previous = opened_at
        for index, event in enumerate(events):
            previous = self._check_event(rid, f"events[{index}]", event, opened_at, previous)

    def _check_event(
        self,
        rid: str,
        where: str,
        event: Any,
        opened_at: datetime.datetime | None,
        previous: datetime.datetime | None,
    ) -> datetime.datetime | None:
        if not isinstance(event, dict):
            self.error(rid, where, "Must be an object.")
            return previous
        kind = event.get("kind")
        if kind not in EVENT_KINDS:
            self.error(rid, f"{where}.kind", f"Unknown event kind {kind!r}.")
            return previous
        actor_field = EVENT_ACTOR.get(kind, "by")
        actor = event.get(actor_field)
        system_allowed = kind in ("close", "resolve")
        if actor not in self.users and not (actor is None and system_allowed):
            self.error(
                rid,
                f"{where}.{actor_field}",
                "This field is required." if actor is None else f"Unknown user {actor!r}.",
            )
        at: datetime.datetime | None
        try:
            at = parse_time(event.get("at"))
        except ValueError as error:
            self.error(rid, f"{where}.at", str(error))
            at = None
        if at is not None and opened_at is not None and at < opened_at:
            self.error(rid, f"{where}.at", "The event is dated before the case was opened.")
        elif at is not None and previous is not None and at < previous:
            self.error(rid, f"{where}.at", "Events must be in time order.")
        if kind == "comment":
            self.text(rid, event, "body", max_length=1_000_000)
            if not isinstance(event.get("public"), bool):
                self.error(rid, f"{where}.public", "Must be true or false.")
        elif kind == "reclassify":
            if event.get("to") not in CaseType.values:
                self.error(rid, f"{where}.to", f"Unknown case type {event.get('to')!r}.")
            self.text(rid, event, "reason", max_length=10_000)
        elif kind == "reopen":
            self.text(rid, event, "reason", max_length=10_000)
        elif kind == "target_release":
            self._check_release(rid, where, event)
        elif kind == "resolve":
            resolution = event.get("resolution")
            if resolution not in Resolution.values:
                self.error(rid, f"{where}.resolution", f"Unknown resolution {resolution!r}.")
            elif resolution == Resolution.FIXED_IN_RELEASE:
                self._check_release(rid, where, event)
            elif (
                resolution == Resolution.KB_ARTICLE and event.get("kb_article") not in self.articles
            ):
                self.error(
                    rid,
                    f"{where}.kb_article",
                    f"Unknown knowledge article {event.get('kb_article')!r}.",
                )
        elif kind == "transition":
            if event.get("name") not in services.STATUS_TRANSITIONS:
                self.error(rid, f"{where}.name", f"Unknown transition {event.get('name')!r}.")
        elif kind == "assign" and event.get("to") is not None and event["to"] not in self.users:
            self.error(rid, f"{where}.to", f"Unknown user {event['to']!r}.")
        return at if at is not None else previous

    def _check_release(self, rid: str, where: str, event: dict[str, Any]) -> None:
        if "release" not in event:
            self.error(rid, f"{where}.release", "This field is required.")
        elif event.get("release") not in self.releases:
            self.error(rid, f"{where}.release", f"Unknown release {event.get('release')!r}.")


def validate_corpus(data: Any) -> list[CorpusError]:
    """Return the structural errors of a corpus (empty when it may be replayed)."""
    return _Checker(data).check()


# Import ----------------------------------------------------------------------


@dataclass
class _World:
    organizations: dict[str, Organization]
    users: dict[str, User]
    releases: dict[str, Release]
    articles: dict[str, KnowledgeArticle]


def _ensure_world(data: dict[str, Any]) -> _World:
    organizations = {}
    for org in data.get("organizations", []):
        organizations[org["key"]], _ = Organization.objects.get_or_create(
            slug=org["key"], defaults={"name": org["name"], "domain": org.get("domain", "")}
        )
    users = {}
    for record in data.get("users", []):
        user = User.objects.filter(email__iexact=record["email"]).first()
        if user is None:
            user = User.objects.create_user(
                email=record["email"],
                name=record.get("name", ""),
                organization=organizations.get(record.get("organization") or ""),
                is_staff=record["role"] != Role.CUSTOMER,
            )
            assign_role(user, record["role"])
        users[record["key"]] = user
    releases = {}
    for record in data.get("releases", []):
        released_on = record.get("released_on")
        releases[record["version"]], _ = Release.objects.get_or_create(
            version=record["version"],
            defaults={
                "released_on": datetime.date.fromisoformat(released_on) if released_on else None
            },
        )
    articles = {}
    for record in data.get("kb_articles", []):
        articles[record["key"]], _ = KnowledgeArticle.objects.get_or_create(
            slug=record["key"],
            defaults={"title": record["title"], "body": record["body"], "is_published": True},
        )
    return _World(organizations, users, releases, articles)


class _ReplayError(Exception):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


def _message(error: Exception) -> tuple[str, str]:
    """Return (field, message) for an error raised by a service."""
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        name, errors = next(iter(error.error_dict.items()))
        return name, " ".join(str(message) for e in errors for message in e.messages)
    if isinstance(error, ValidationError):
        return "", " ".join(error.messages)
    if isinstance(error, CaseError):
        return "", error.message
    return "", str(error) or error.__class__.__name__


def _replay_case(record: dict[str, Any], world: _World, *, explicit: bool) -> Case:
    reporter = world.users[record["reporter"]]
    filer = reporter
    if "filed_by" in record:
        filer = world.users[record["filed_by"]]
    elif record["channel"] == Channel.PHONE:
        # A phone case is filed by the support agent who took the call: the first staff
        # member acting on the case who may file for customers.
        for event in record.get("events", []):
            actor = world.users.get(event.get(EVENT_ACTOR.get(event["kind"], "by")) or "")
            if actor is not None and actor.has_perm("cases.file_for_customer"):
                filer = actor
                break
    try:
        case = services.file_case(
            by=filer,
            reporter=reporter,
            subject=record["subject"],
            description=record["description"],
            type=record["initial_type"],
            severity=record["severity"],
            product_version=record.get("product_version", ""),
            channel=record["channel"],
            at=parse_time(record["opened_at"]),
            external_id=record["external_id"],
        )
    except (ValidationError, PermissionDenied, CaseError) as error:
        name, message = _message(error)
        raise _ReplayError(name or "case", message) from error

    for index, event in enumerate(record.get("events", [])):
        try:
            case = _replay_event(case, event, world, explicit=explicit)
        except (ValidationError, PermissionDenied, CaseError) as error:
            name, message = _message(error)
            where = f"events[{index}]" + (f".{name}" if name else "")
            raise _ReplayError(where, message) from error
        except _ReplayError as error:
            raise _ReplayError(f"events[{index}].{error.field}", error.message) from error

    if case.type != record["final_type"]:
        raise _ReplayError(
            "final_type",
            f"The history makes the case {str(case.type)!r}, "
            f"but the file says {record['final_type']!r}.",
        )
    return case


def _replay_event(case: Case, event: dict[str, Any], world: _World, *, explicit: bool) -> Case:
    kind = event["kind"]
    at = parse_time(event["at"])
    actor_key = event.get(EVENT_ACTOR.get(kind, "by"))
    by = world.users[actor_key] if actor_key else None

    implied = not explicit and kind in IMPLIED_ACKNOWLEDGE and case.status == Status.NEW
    if implied and by is not None and by.is_staff:
        case = services.acknowledge_case(case=case, by=by, at=at, enforce_role=False)

    if kind == "comment":
        assert by is not None
        comment = services.add_comment(
            case=case, by=by, body=event["body"], public=event["public"], at=at
        )
        return comment.case
    if kind == "reclassify":
        assert by is not None
        return services.reclassify_case(
            case=case, by=by, to=event["to"], reason=event["reason"], at=at
        )
    if kind == "target_release":
        assert by is not None
        if not explicit and case.status == Status.OPEN:
            case = services.escalate_case(case=case, by=by, at=at, enforce_role=False)
        return services.schedule_fix(
            case=case, by=by, release=world.releases[event["release"]], at=at
        )
    if kind == "resolve":
        if event["resolution"] == Resolution.FIXED_IN_RELEASE:
            release = world.releases[event["release"]]
            if not release.is_published:
                raise _ReplayError("release", f"Release {release.version} is not published yet.")
            if case.target_release_id != release.pk:
                raise _ReplayError(
                    "release",
                    f"The case is not scheduled into release {release.version}.",
                )
            return services.mark_fixed_in_release(case=case, by=by, at=at)
        if by is None:
            raise _ReplayError("by", "Only a release publication resolves a case on its own.")
        article = world.articles.get(event.get("kb_article") or "")
        return services.resolve_case(
            case=case, by=by, resolution=event["resolution"], article=article, at=at
        )
    if kind == "close":
        if by is None:
            return services.auto_close_case(case=case, at=at)
        return services.close_case(case=case, by=by, at=at)
    if kind == "reopen":
        assert by is not None
        return services.reopen_case(case=case, by=by, reason=event["reason"], at=at)
    if kind == "assign":
        assert by is not None
        assignee = world.users[event["to"]] if event.get("to") else None
        return services.assign_case(case=case, by=by, assignee=assignee, at=at)
    assert kind == "transition"
    assert by is not None
    release_key = event.get("release")
    return services.transition_case(
        case=case,
        by=by,
        name=event["name"],
        reason=event.get("reason", ""),
        release=world.releases.get(release_key) if release_key else None,
        at=at,
        # A step an earlier import took as implied by the corpus stays so.
        enforce_role=event.get("implied") is not True,
    )


def import_corpus(data: Any, *, dry_run: bool = False) -> ImportReport:
    """Validate and replay a corpus; write nothing unless every record is valid."""
    report = ImportReport(dry_run=dry_run)
    report.errors = validate_corpus(data)
    if any(error.record == "file" for error in report.errors):
        return report  # not a corpus at all
    records = data["cases"]
    case_ids = {f"cases[{i}]" for i in range(len(records))} | {
        c.get("external_id") for c in records if isinstance(c, dict)
    }
    broken = {error.record for error in report.errors}
    if broken - case_ids:
        return report  # its people, releases or articles are invalid
    records = [r for r in records if isinstance(r, dict) and isinstance(r.get("external_id"), str)]

    # Replay the structurally valid cases as well, so that every error is reported at once.
    explicit = data.get("status_steps") == "explicit"
    existing = set(
        Case.objects.filter(external_id__in=[case["external_id"] for case in records]).values_list(
            "external_id", flat=True
        )
    )
    # Replaying history must not email customers about events of long ago.
    with notifications.silenced(), transaction.atomic():
        world = _ensure_world(data)
        for record in records:
            if record["external_id"] in broken:
                continue
            if record["external_id"] in existing:
                report.unchanged += 1
                continue
            try:
                with transaction.atomic():
                    _replay_case(record, world, explicit=explicit)
            except _ReplayError as error:
                report.errors.append(CorpusError(record["external_id"], error.field, error.message))
            else:
                report.imported += 1
        if report.errors or dry_run:
            transaction.set_rollback(True)
    if report.errors:
        report.imported = 0
    return report


# Export ----------------------------------------------------------------------


def _user_key(user: User | None) -> str | None:
    return user.email if user is not None else None


def _export_events(case: Case) -> Iterator[dict[str, Any]]:
    for event in case.events.all():  # type: ignore[attr-defined]
        item: dict[str, Any] = {"at": format_time(event.at)}
        by = _user_key(event.actor)
        if event.kind == EventKind.COMMENTED:
            comment = event.comment
            assert comment is not None
            yield {
                **item,
                "kind": "comment",
                "author": by,
                "public": comment.is_public,
                "body": comment.body,
            }
        elif event.kind == EventKind.RECLASSIFIED:
            yield {
                **item,
                "kind": "reclassify",
                "by": by,
                "to": event.to_value,
                "reason": event.reason,
            }
        elif event.kind == EventKind.ASSIGNED:
            yield {**item, "kind": "assign", "by": by, "to": event.to_value or None}
        elif event.kind == EventKind.STATUS_CHANGED:
            name = event.transition
            if name in ("customer_replied", "return_to_support"):
                continue  # the services take these steps themselves on replay
            if name == "schedule_fix":
                yield {**item, "kind": "target_release", "by": by, "release": event.data["release"]}
            elif name == "release_published":
                yield {
                    **item,
                    "kind": "resolve",
                    "by": by,
                    "resolution": Resolution.FIXED_IN_RELEASE,
                    "release": event.data["release"],
                }
            elif name == "resolve":
                resolved = {
                    **item,
                    "kind": "resolve",
                    "by": by,
                    "resolution": event.data["resolution"],
                }
                if "knowledge_article" in event.data:
                    resolved["kb_article"] = event.data["knowledge_article"]
                yield resolved
            elif name == "close":
                yield {**item, "kind": "close", "by": by}
            elif name == "reopen":
                yield {**item, "kind": "reopen", "by": by, "reason": event.reason}
            else:
                step = {**item, "kind": "transition", "by": by, "name": name}
                if event.data.get("implied"):
                    step["implied"] = True
                yield step


def export_corpus() -> dict[str, Any]:
    """Return every organization, person, release, article and case as a corpus."""
    users = User.objects.select_related("organization").prefetch_related("groups")
    cases = (
        Case.objects.order_by("pk")
        .select_related("organization", "reporter")
        .prefetch_related("events__actor", "events__comment")
    )
    filed_by: dict[int, User | None] = {}
    corpus_cases = []
    for case in cases:
        filed = next(e for e in case.events.all() if e.kind == EventKind.FILED)  # type: ignore[attr-defined]
        filed_by[case.pk] = filed.actor
        record = {
            "external_id": case.external_id or case.number,
            "organization": case.organization.slug,
            "reporter": _user_key(case.reporter),
            "channel": case.channel,
            "opened_at": format_time(case.created_at),
            "severity": case.severity,
            "product_version": case.product_version,
            "subject": case.subject,
            "description": case.description,
            "initial_type": filed.to_value,
            "events": list(_export_events(case)),
            "final_type": case.type,
        }
        if filed.actor is not None and filed.actor != case.reporter:
            record["filed_by"] = _user_key(filed.actor)
        corpus_cases.append(record)
    return {
        "format": FORMAT,
        "status_steps": "explicit",
        "organizations": [
            {"key": org.slug, "name": org.name, "domain": org.domain}
            for org in Organization.objects.order_by("pk")
        ],
        "users": [
            {
                "key": user.email,
                "organization": user.organization.slug if user.organization else None,
                "name": user.name,
                "email": user.email,
                "role": role_of(user) or Role.SUPPORT,
            }
            for user in users
            if user.organization_id is not None or user.is_staff
        ],
        "releases": [
            {
                "version": release.version,
                "released_on": release.released_on.isoformat() if release.released_on else None,
            }
            for release in Release.objects.order_by("pk")
        ],
        "kb_articles": [
            {"key": article.slug, "title": article.title, "body": article.body}
            for article in KnowledgeArticle.objects.order_by("pk")
        ],
        "cases": corpus_cases,
    }
