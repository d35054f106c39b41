"""Races between people acting on the same case at the same moment (PostgreSQL only)."""

import itertools

import pytest

from accounts.models import User
from cases import services
from cases.exceptions import TransitionNotAllowed
from cases.models import Case, CaseEvent
from tests import factories
from tests.races import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_reclassifications_at_once_are_serialised(customer: User, support: User) -> None:
    other_support = factories.SupportFactory.create()
    case = factories.file_case(reporter=customer, type="issue")

    results = race(
        lambda: services.reclassify_case(case=case, by=support, to="bug", reason="Defect."),
        lambda: services.reclassify_case(
            case=case, by=other_support, to="enhancement", reason="Feature."
        ),
    )

    assert not [
        r for r in results if isinstance(r, Exception) and not isinstance(r, TransitionNotAllowed)
    ]
    moves = list(
        CaseEvent.objects.filter(case=case, kind="reclassified")
        .order_by("at", "id")
        .values_list("from_value", "to_value")
    )
    # The first move is judged from issue; the second from the type the first left.
    assert moves[0][0] == "issue"
    for (_, first_to), (second_from, _) in itertools.pairwise(moves):
        assert second_from == first_to
    succeeded = [r for r in results if isinstance(r, Case)]
    assert len(moves) == len(succeeded)
    assert Case.objects.get(pk=case.pk).type == moves[-1][1]
    assert Case.objects.get(pk=case.pk).version == 1 + len(moves)


def test_many_comments_at_once_are_all_kept(customer: User, support: User) -> None:
    case = factories.file_case(reporter=customer)
    case = services.request_info(case=case, by=support)

    results = race(
        *[
            (lambda n=n: services.add_comment(case=case, by=customer, body=f"reply {n}"))
            for n in range(8)
        ]
    )

    assert not [r for r in results if isinstance(r, Exception)]
    assert case.comments.count() == 8
    assert CaseEvent.objects.filter(case=case, transition="customer_replied").count() == 1
    assert Case.objects.get(pk=case.pk).status == "open"
