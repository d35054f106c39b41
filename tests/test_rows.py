"""portal.rows: rows read and written with SQL compiled once behave as the ORM's."""

from typing import Any

import pytest
from django.db import DatabaseError
from django.db.models import CharField, Count, DateTimeField
from django.db.models.expressions import RawSQL
from django.db.models.signals import post_save, pre_save

from accounts.models import User
from cases.api import CASE_RELATIONS
from cases.models import Case, CaseEvent, EventKind
from portal import rows
from tests import factories


def test_insert_sets_the_new_key_and_state(case: Case, support: User) -> None:
    event = CaseEvent(case=case, at=case.created_at, actor=support, kind=EventKind.ASSIGNED)
    rows.insert(event)
    assert event.pk is not None
    assert not event._state.adding
    assert event._state.db == "default"
    stored = CaseEvent.objects.get(pk=event.pk)
    assert (stored.case_id, stored.actor_id, stored.kind, stored.data) == (
        case.pk,
        support.pk,
        EventKind.ASSIGNED,
        {},
    )


def test_insert_and_update_send_the_save_signals(case: Case, support: User) -> None:
    seen: list[tuple[str, Any]] = []

    def before(sender: Any, instance: Any, update_fields: Any, **kwargs: Any) -> None:
        seen.append(("pre", update_fields))

    def after(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
        seen.append(("post", created))

    pre_save.connect(before, sender=CaseEvent)
    post_save.connect(after, sender=CaseEvent)
    try:
        event = CaseEvent(case=case, at=case.created_at, actor=support, kind=EventKind.ASSIGNED)
        rows.insert(event)
        event.reason = "Changed."
        rows.update(event, ["reason"])
    finally:
        pre_save.disconnect(before, sender=CaseEvent)
        post_save.disconnect(after, sender=CaseEvent)
    assert seen == [("pre", None), ("post", True), ("pre", frozenset({"reason"})), ("post", False)]
    assert CaseEvent.objects.get(pk=event.pk).reason == "Changed."


def test_update_writes_only_the_fields_named(case: Case) -> None:
    case.subject = "Not written"
    case.comment_count = 7
    rows.update(case, ["comment_count"])
    stored = Case.objects.get(pk=case.pk)
    assert stored.comment_count == 7
    assert stored.subject != "Not written"


def test_update_of_a_row_gone_is_an_error(case: Case) -> None:
    gone = Case.objects.get(pk=case.pk)
    Case.objects.filter(pk=case.pk).update(comment_count=1)
    gone.pk = case.pk + 1000
    with pytest.raises(DatabaseError):
        rows.update(gone, ["comment_count"])


def test_get_reads_the_object_and_its_related_rows(customer: User, support: User) -> None:
    case = factories.file_case(reporter=customer)
    Case.objects.filter(pk=case.pk).update(assignee=support)
    for _ in range(2):  # compiled, then from what was kept
        cases = Case.objects.visible_to(customer).select_related(*CASE_RELATIONS)
        found = rows.get(cases.filter(pk=case.pk))
        expected = cases.get(pk=case.pk)
        assert [getattr(found, f.attname) for f in Case._meta.concrete_fields] == [
            getattr(expected, f.attname) for f in Case._meta.concrete_fields
        ]
        assert not found._state.adding
        assert Case.reporter.is_cached(found)  # type: ignore[attr-defined]
        assert found.reporter == customer
        assert found.assignee == support
        assert found.organization == customer.organization
        assert found.target_release is None


def test_get_finds_nothing_or_too_much_as_the_orm_does(
    customer: User, other_customer: User
) -> None:
    mine = factories.file_case(reporter=customer)
    theirs = factories.file_case(reporter=other_customer)
    with pytest.raises(Case.DoesNotExist):
        rows.get(Case.objects.visible_to(customer).filter(pk=theirs.pk))
    with pytest.raises(Case.DoesNotExist):
        rows.get(Case.objects.none())
    factories.file_case(reporter=customer)
    with pytest.raises(Case.MultipleObjectsReturned):
        rows.get(Case.objects.visible_to(customer))
    assert rows.get(Case.objects.visible_to(customer).filter(pk=mine.pk)) == mine


def test_get_leaves_other_querysets_to_the_orm(case: Case) -> None:
    found = rows.get(Case.objects.annotate(n=Count("events")).filter(pk=case.pk))
    assert found.n == 1  # type: ignore[attr-defined]


def test_get_reads_annotations_written_in_sql(case: Case) -> None:
    # The SQL is kept once; each call's parameters are its own, the annotation's
    # before the filter's.
    for factor in (2, 3):
        cases = Case.objects.annotate(scaled=RawSQL("%s * 7", (factor,)))
        found = rows.get(cases.filter(pk=case.pk))
        assert found.scaled == factor * 7  # type: ignore[attr-defined]
        assert found == case


def test_get_converts_an_annotation_as_its_own_field_says(case: Case) -> None:
    # The same SQL read as two types: each is converted as the ORM converts it.
    as_text = Case.objects.annotate(at=RawSQL("created_at", (), output_field=CharField()))
    as_time = Case.objects.annotate(at=RawSQL("created_at", (), output_field=DateTimeField()))
    text = rows.get(as_text.filter(pk=case.pk)).at  # type: ignore[attr-defined]
    time = rows.get(as_time.filter(pk=case.pk)).at  # type: ignore[attr-defined]
    assert time == as_time.get(pk=case.pk).at  # type: ignore[attr-defined]
    assert text == as_text.get(pk=case.pk).at  # type: ignore[attr-defined]
