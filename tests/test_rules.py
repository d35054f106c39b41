"""
The rules of the two state machines, as SPEC sections 3 and 4 write them.

The expected values are written out here from the SPEC's tables, not read from
the transitions declared in the code.
"""

import datetime
import itertools
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import User
from cases import services
from cases.exceptions import TransitionNotAllowed
from cases.models import Case, CaseEvent, EventKind
from tests import factories

TYPES = ["issue", "bug", "enhancement", "question"]

# SPEC section 3: "may be reclassified as".
RECLASSIFY = {
    "issue": {"bug", "enhancement"},
    "bug": {"issue", "enhancement"},
    "enhancement": {"issue", "bug"},
    "question": {"bug", "enhancement"},
}

# SPEC section 4: transition -> (sources, target, needs an engineering type).
STATUS_TABLE = {
    "acknowledge": ({"new"}, "open", False),
    "request_info": ({"new", "open", "in_engineering"}, "waiting_on_customer", False),
    "escalate": ({"open"}, "in_engineering", True),
    "schedule_fix": ({"in_engineering"}, "fix_scheduled", True),
    "resolve": ({"new", "open", "waiting_on_customer", "in_engineering"}, "resolved", False),
    "close": ({"resolved"}, "closed", False),
    "reopen": ({"resolved"}, "open", False),
}

# SPEC section 4: resolutions `resolve` accepts, by type.
RESOLUTIONS = {
    "issue": ["answered", "workaround", "duplicate", "wont_fix"],
    "question": ["answered", "kb_article", "duplicate"],
    "bug": ["workaround", "duplicate", "wont_fix"],
    "enhancement": ["duplicate", "wont_fix"],
}

# How to bring a case of each type into each status, through the services.
PATHS = {
    "new": [],
    "open": ["acknowledge"],
    "waiting_on_customer": ["request_info"],
    "in_engineering": ["acknowledge", "escalate"],
    "fix_scheduled": ["acknowledge", "escalate", "schedule_fix"],
    "resolved": ["resolve"],
    "closed": ["resolve", "close"],
}


def params_for(name: str, case: Case) -> dict[str, Any]:
    if name == "schedule_fix":
        return {"release": factories.ReleaseFactory.create()}
    if name == "resolve":
        return {"resolution": RESOLUTIONS[case.type][0]}
    if name == "reopen":
        return {"reason": "It happens again."}
    return {}


def bring_to(case: Case, status: str, support: User) -> Case:
    for name in PATHS[status]:
        case = services.transition_case(case=case, by=support, name=name, **params_for(name, case))
    assert case.status == status
    return case


def history(case: Case) -> list[tuple[str, str, str, str]]:
    return list(
        CaseEvent.objects.filter(case=case).values_list(
            "kind", "transition", "from_value", "to_value"
        )
    )


# Type -----------------------------------------------------------------------


@pytest.mark.parametrize(("source", "target"), list(itertools.product(TYPES, TYPES)))
def test_reclassification_follows_the_spec_table(
    source: str, target: str, customer: User, support: User
) -> None:
    case = factories.file_case(reporter=customer, type=source)
    before = history(case)

    if target in RECLASSIFY[source]:
        case = services.reclassify_case(case=case, by=support, to=target, reason="Triage.")
        assert case.type == target
        assert history(case) == [*before, ("reclassified", "", source, target)]
    else:
        with pytest.raises(TransitionNotAllowed) as refused:
            services.reclassify_case(case=case, by=support, to=target, reason="Triage.")
        assert sorted(refused.value.allowed) == sorted(RECLASSIFY[source])
        assert Case.objects.get(pk=case.pk).type == source
        assert history(case) == before


def test_question_cannot_become_issue_and_message_lists_the_allowed_moves(
    customer: User, support: User
) -> None:
    case = factories.file_case(reporter=customer, type="question")
    with pytest.raises(TransitionNotAllowed) as refused:
        services.reclassify_case(case=case, by=support, to="issue", reason="Triage.")
    assert refused.value.message == (
        "A question cannot become an issue. Allowed now: bug, enhancement."
    )


@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_a_finished_case_is_not_reclassified(status: str, customer: User, support: User) -> None:
    case = bring_to(factories.file_case(reporter=customer), status, support)
    with pytest.raises(TransitionNotAllowed, match="can no longer be reclassified"):
        services.reclassify_case(case=case, by=support, to="bug", reason="Late.")
    assert Case.objects.get(pk=case.pk).type == "issue"


def test_reclassification_needs_a_reason(case: Case, support: User) -> None:
    with pytest.raises(ValidationError) as error:
        services.reclassify_case(case=case, by=support, to="bug", reason="  ")
    assert "reason" in error.value.message_dict
    assert Case.objects.get(pk=case.pk).type == "issue"


@pytest.mark.parametrize("actor", ["customer", "engineer"])
def test_only_support_reclassifies(actor: str, request: pytest.FixtureRequest, case: Case) -> None:
    user = request.getfixturevalue(actor)
    before = history(case)
    with pytest.raises(PermissionDenied):
        services.reclassify_case(case=case, by=user, to="bug", reason="I think so.")
    assert Case.objects.get(pk=case.pk).type == "issue"
    assert history(case) == before


@pytest.mark.parametrize("status", ["in_engineering", "fix_scheduled"])
@pytest.mark.parametrize("source", ["bug", "enhancement"])
def test_engineering_case_that_becomes_an_issue_returns_to_open(
    source: str, status: str, customer: User, support: User
) -> None:
    case = bring_to(factories.file_case(reporter=customer, type=source), status, support)
    case = services.reclassify_case(case=case, by=support, to="issue", reason="Config error.")
    assert (case.type, case.status, case.target_release) == ("issue", "open", None)
    assert history(case)[-2:] == [
        ("reclassified", "", source, "issue"),
        ("status_changed", "return_to_support", status, "open"),
    ]


@pytest.mark.parametrize("status", ["in_engineering", "fix_scheduled"])
def test_bug_to_enhancement_keeps_the_engineering_status(
    status: str, customer: User, support: User
) -> None:
    case = bring_to(factories.file_case(reporter=customer, type="bug"), status, support)
    release = case.target_release
    case = services.reclassify_case(case=case, by=support, to="enhancement", reason="Feature.")
    assert (case.type, case.status, case.target_release) == ("enhancement", status, release)


# Status ---------------------------------------------------------------------


def reachable() -> list[tuple[str, str]]:
    engineering_only = {"in_engineering", "fix_scheduled"}
    return [
        (case_type, status)
        for case_type in TYPES
        for status in PATHS
        if status not in engineering_only or case_type in ("bug", "enhancement")
    ]


@pytest.mark.parametrize(("case_type", "status"), reachable())
@pytest.mark.parametrize("name", list(STATUS_TABLE))
def test_status_transition_allowed_exactly_where_the_spec_says(
    name: str, case_type: str, status: str, customer: User, support: User
) -> None:
    case = bring_to(factories.file_case(reporter=customer, type=case_type), status, support)
    sources, target, needs_engineering_type = STATUS_TABLE[name]
    allowed = status in sources and (
        not needs_engineering_type or case_type in ("bug", "enhancement")
    )
    before = history(case)

    if allowed:
        case = services.transition_case(case=case, by=support, name=name, **params_for(name, case))
        assert case.status == target
        assert history(case) == [*before, ("status_changed", name, status, target)]
    else:
        with pytest.raises(TransitionNotAllowed):
            services.transition_case(case=case, by=support, name=name, **params_for(name, case))
        assert Case.objects.get(pk=case.pk).status == status
        assert history(case) == before


@pytest.mark.parametrize("case_type", TYPES)
@pytest.mark.parametrize(
    "resolution", ["answered", "workaround", "duplicate", "wont_fix", "kb_article"]
)
def test_resolution_must_suit_the_type(
    case_type: str, resolution: str, customer: User, support: User
) -> None:
    case = factories.file_case(reporter=customer, type=case_type)
    article = factories.KnowledgeArticleFactory.create() if resolution == "kb_article" else None
    if resolution in RESOLUTIONS[case_type]:
        case = services.resolve_case(case=case, by=support, resolution=resolution, article=article)
        assert (case.status, case.resolution) == ("resolved", resolution)
    else:
        with pytest.raises(ValidationError) as error:
            services.resolve_case(case=case, by=support, resolution=resolution, article=article)
        assert "resolution" in error.value.message_dict
        assert Case.objects.get(pk=case.pk).status == "new"


def test_fixed_in_release_is_not_a_resolution_anyone_picks(case: Case, support: User) -> None:
    case = services.reclassify_case(case=case, by=support, to="bug", reason="Defect.")
    with pytest.raises(ValidationError):
        services.resolve_case(case=case, by=support, resolution="fixed_in_release")


def test_kb_article_resolution_names_a_published_article(customer: User, support: User) -> None:
    case = factories.file_case(reporter=customer, type="question")
    draft = factories.KnowledgeArticleFactory.create(is_published=False)
    with pytest.raises(ValidationError) as error:
        services.resolve_case(case=case, by=support, resolution="kb_article", article=draft)
    assert "knowledge_article" in error.value.message_dict


def test_fix_cannot_be_scheduled_into_a_published_release(customer: User, support: User) -> None:
    case = bring_to(factories.file_case(reporter=customer, type="bug"), "in_engineering", support)
    shipped = factories.ReleaseFactory.create(released_on=datetime.date(2020, 1, 1))
    with pytest.raises(ValidationError) as error:
        services.schedule_fix(case=case, by=support, release=shipped)
    assert "release" in error.value.message_dict
    assert Case.objects.get(pk=case.pk).status == "in_engineering"


def test_reopen_needs_a_reason(customer: User, support: User) -> None:
    case = bring_to(factories.file_case(reporter=customer), "resolved", support)
    with pytest.raises(ValidationError):
        services.reopen_case(case=case, by=customer, reason="")
    case = services.reopen_case(case=case, by=customer, reason="It is back.")
    assert (case.status, case.resolution) == ("open", "")


def test_customer_reply_moves_a_waiting_case_back_to_open(case: Case, support: User) -> None:
    case = services.request_info(case=case, by=support)
    comment = services.add_comment(case=case, by=case.reporter, body="Here are the logs.")
    assert comment.case.status == "open"
    assert history(case)[-2:] == [
        ("commented", "", "", ""),
        ("status_changed", "customer_replied", "waiting_on_customer", "open"),
    ]


def test_internal_note_is_an_internal_event(case: Case, engineer: User) -> None:
    services.add_comment(case=case, by=engineer, body="Looks like a race.", public=False)
    event = CaseEvent.objects.filter(case=case, kind=EventKind.COMMENTED).get()
    assert event.is_public is False
    assert (
        not CaseEvent.objects.filter(case=case)
        .visible_to(case.reporter)
        .filter(kind=EventKind.COMMENTED)
    )


def test_customer_cannot_write_an_internal_note(case: Case) -> None:
    with pytest.raises(PermissionDenied):
        services.add_comment(case=case, by=case.reporter, body="psst", public=False)


def test_customer_of_another_organization_cannot_act_on_a_case(
    case: Case, other_customer: User, support: User
) -> None:
    with pytest.raises(PermissionDenied):
        services.add_comment(case=case, by=other_customer, body="Hello?")
    case = bring_to(case, "resolved", support)
    with pytest.raises(PermissionDenied):
        services.close_case(case=case, by=other_customer)
    assert Case.objects.get(pk=case.pk).status == "resolved"


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("acknowledge", "engineer"),
        ("escalate", "engineer"),
        ("resolve", "engineer"),
        ("acknowledge", "customer"),
        ("request_info", "customer"),
        ("resolve", "customer"),
    ],
)
def test_status_transitions_check_the_role(
    name: str, role: str, request: pytest.FixtureRequest, case: Case
) -> None:
    user = request.getfixturevalue(role)
    with pytest.raises(PermissionDenied):
        services.transition_case(case=case, by=user, name=name, **params_for(name, case))
    assert Case.objects.get(pk=case.pk).status == "new"


def test_engineering_schedules_and_asks_for_information(
    customer: User, support: User, engineer: User
) -> None:
    case = bring_to(factories.file_case(reporter=customer, type="bug"), "in_engineering", support)
    case = services.schedule_fix(case=case, by=engineer, release=factories.ReleaseFactory.create())
    assert case.status == "fix_scheduled"
    other = bring_to(factories.file_case(reporter=customer, type="bug"), "in_engineering", support)
    assert services.request_info(case=other, by=engineer).status == "waiting_on_customer"


def test_allowed_transitions_are_what_the_user_may_do_now(
    case: Case, support: User, engineer: User
) -> None:
    assert services.allowed_status_transitions(case, support) == [
        "acknowledge",
        "request_info",
        "resolve",
    ]
    assert services.allowed_status_transitions(case, engineer) == ["request_info"]
    assert services.allowed_status_transitions(case, case.reporter) == []
    assert services.allowed_types(case, case.reporter) == []
    assert sorted(services.allowed_types(case, support)) == ["bug", "enhancement"]


def test_stale_version_is_refused(case: Case, support: User) -> None:
    from cases.exceptions import StaleCase

    services.acknowledge_case(case=case, by=support)
    with pytest.raises(StaleCase):
        services.reclassify_case(
            case=case, by=support, to="bug", reason="x", expected_version=case.version
        )
    assert Case.objects.get(pk=case.pk).type == "issue"


# Releases -------------------------------------------------------------------


def test_publishing_a_release_resolves_exactly_the_cases_scheduled_into_it(
    customer: User, support: User, engineer: User
) -> None:
    release, other_release = factories.ReleaseFactory.create(), factories.ReleaseFactory.create()

    def scheduled(into: Any) -> Case:
        case = bring_to(
            factories.file_case(reporter=customer, type="bug"), "in_engineering", support
        )
        return services.schedule_fix(case=case, by=support, release=into)

    mine = [scheduled(release) for _ in range(3)]
    elsewhere = scheduled(other_release)
    untouched = bring_to(
        factories.file_case(reporter=customer, type="bug"), "in_engineering", support
    )

    resolved = services.publish_release(release=release, by=engineer)

    assert sorted(c.pk for c in resolved) == sorted(c.pk for c in mine)
    for case in mine:
        fresh = Case.objects.get(pk=case.pk)
        assert (fresh.status, fresh.resolution) == ("resolved", "fixed_in_release")
        assert history(fresh)[-1] == (
            "status_changed",
            "release_published",
            "fix_scheduled",
            "resolved",
        )
        assert CaseEvent.objects.filter(case=fresh, transition="release_published").count() == 1
    assert Case.objects.get(pk=elsewhere.pk).status == "fix_scheduled"
    assert Case.objects.get(pk=untouched.pk).status == "in_engineering"
    release.refresh_from_db()
    assert release.is_published


def test_a_release_is_published_once(support: User) -> None:
    from cases.exceptions import ReleaseAlreadyPublished

    release = factories.ReleaseFactory.create()
    services.publish_release(release=release, by=support)
    with pytest.raises(ReleaseAlreadyPublished):
        services.publish_release(release=release, by=support)


def test_customers_do_not_publish_releases(customer: User) -> None:
    with pytest.raises(PermissionDenied):
        services.publish_release(release=factories.ReleaseFactory.create(), by=customer)


def test_resolved_cases_close_themselves_after_fourteen_days(customer: User, support: User) -> None:
    from django.utils import timezone

    old = bring_to(factories.file_case(reporter=customer), "resolved", support)
    recent = factories.file_case(reporter=customer)
    now = timezone.now()
    Case.objects.filter(pk=old.pk).update(resolved_at=now - datetime.timedelta(days=15))
    recent = services.resolve_case(case=recent, by=support, resolution="answered")

    assert services.close_resolved_cases(now=now) == 1
    closed = Case.objects.get(pk=old.pk)
    assert closed.status == "closed"
    assert closed.events.last().actor is None  # type: ignore[union-attr]
    assert Case.objects.get(pk=recent.pk).status == "resolved"


# Filing ----------------------------------------------------------------------


def test_case_numbers_follow_the_primary_key(customer: User) -> None:
    first = factories.file_case(reporter=customer)
    second = factories.file_case(reporter=customer)
    assert first.number == f"CASE-{first.pk:06d}"
    assert second.pk == first.pk + 1
    assert Case.objects.by_number(second.number).get() == second
    assert not Case.objects.by_number("CASE-12x").exists()


def test_subject_limit_counts_characters_not_bytes(customer: User) -> None:
    subject = "障😱" * 100
    assert len(subject) == 200
    case = factories.file_case(reporter=customer, subject=subject)
    assert Case.objects.get(pk=case.pk).subject == subject
    with pytest.raises(ValidationError) as error:
        factories.file_case(reporter=customer, subject=subject + "!")
    assert "subject" in error.value.message_dict


def test_support_files_a_phone_case_for_a_customer(customer: User, support: User) -> None:
    case = services.file_case(
        by=support,
        reporter=customer,
        subject="Called in",
        description="On the phone.",
        type="issue",
        channel="phone",
    )
    assert (case.reporter, case.organization, case.channel) == (
        customer,
        customer.organization,
        "phone",
    )
    assert case.events.get().actor == support


def test_engineering_does_not_file_cases(customer: User, engineer: User) -> None:
    with pytest.raises(PermissionDenied):
        services.file_case(by=engineer, reporter=customer, subject="x", description="y", type="bug")


# PITFALLS 3 and 4 ----------------------------------------------------------------


def test_a_case_loads_with_only_its_subject(case: Case) -> None:
    light = Case.objects.only("subject").get(pk=case.pk)
    assert light.subject == case.subject
    assert light.type == "issue"
    assert light.status == "new"


def test_failed_refresh_leaves_type_and_status_protected(case: Case) -> None:
    stale = Case.objects.get(pk=case.pk)
    Case.objects.filter(pk=case.pk).delete()
    with pytest.raises(Case.DoesNotExist):
        stale.refresh_from_db()
    with pytest.raises(AttributeError):
        stale.type = "bug"
    with pytest.raises(AttributeError):
        stale.status = "closed"
