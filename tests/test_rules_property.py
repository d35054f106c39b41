"""
Random sequences of actions by random people, checked against a small
reference model of SPEC sections 3 and 4 written here.
"""

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User
from cases import services
from cases.exceptions import TransitionNotAllowed
from cases.models import Case, CaseEvent, Release
from tests import factories

MOVES = {
    "issue": {"bug", "enhancement"},
    "bug": {"issue", "enhancement"},
    "enhancement": {"issue", "bug"},
    "question": {"bug", "enhancement"},
}
ENGINEERING = {"bug", "enhancement"}
RESOLUTIONS = {
    "issue": {"answered", "workaround", "duplicate", "wont_fix"},
    "question": {"answered", "kb_article", "duplicate"},
    "bug": {"workaround", "duplicate", "wont_fix"},
    "enhancement": {"duplicate", "wont_fix"},
}
# name -> (sources, target, roles that may run it)
STATUS = {
    "acknowledge": ({"new"}, "open", {"support"}),
    "request_info": (
        {"new", "open", "in_engineering"},
        "waiting_on_customer",
        {"support", "engineer"},
    ),
    "escalate": ({"open"}, "in_engineering", {"support"}),
    "schedule_fix": ({"in_engineering"}, "fix_scheduled", {"support", "engineer"}),
    "resolve": ({"new", "open", "waiting_on_customer", "in_engineering"}, "resolved", {"support"}),
    "close": ({"resolved"}, "closed", {"customer", "support"}),
    "reopen": ({"resolved"}, "open", {"customer", "support"}),
}
ACTORS = ["customer", "stranger", "support", "engineer"]
# Support acts most of the time, so that random sequences reach deep states.
BIASED_ACTORS = ["support", "support", "support", "engineer", "customer", "stranger"]
# Openings that bring the case to each status quickly (when its type allows).
OPENINGS = [
    [],
    ["acknowledge"],
    ["acknowledge", "escalate"],
    ["acknowledge", "escalate", "schedule_fix"],
    ["request_info"],
    ["acknowledge", "request_info"],
    ["resolve"],
]


@dataclass
class Model:
    type: str
    status: str = "new"
    release: int | None = None
    history: list[tuple[str, str, str, str]] = field(default_factory=list)

    def reclassify(self, actor: str, to: str) -> str:
        if actor != "support":
            return "denied"
        if to not in MOVES[self.type] or self.status in ("resolved", "closed"):
            return "refused"
        self.history.append(("reclassified", "", self.type, to))
        self.type = to
        if to == "issue" and self.status in ("in_engineering", "fix_scheduled"):
            self.history.append(("status_changed", "return_to_support", self.status, "open"))
            self.status, self.release = "open", None
        return "ok"

    def transition(self, actor: str, name: str, resolution: str, release: int) -> str:
        sources, target, roles = STATUS[name]
        if actor not in roles:
            return "denied"
        if self.status not in sources:
            return "refused"
        if name in ("escalate", "schedule_fix") and self.type not in ENGINEERING:
            return "refused"
        if name == "resolve" and resolution not in RESOLUTIONS[self.type]:
            return "invalid"
        if name == "schedule_fix":
            self.release = release
        self.history.append(("status_changed", name, self.status, target))
        self.status = target
        return "ok"

    def comment(self, actor: str) -> str:
        if actor in ("stranger", "engineer"):
            # Engineering writes internal notes only; a stranger nothing at all.
            return "denied"
        if actor == "customer" and self.status == "closed":
            return "invalid"
        self.history.append(("commented", "", "", ""))
        if actor == "customer" and self.status == "waiting_on_customer":
            self.history.append(("status_changed", "customer_replied", self.status, "open"))
            self.status = "open"
        return "ok"

    def publish(self, release: int) -> None:
        if self.status == "fix_scheduled" and self.release == release:
            self.history.append(
                ("status_changed", "release_published", "fix_scheduled", "resolved")
            )
            self.status = "resolved"


actions = st.one_of(
    st.tuples(st.just("reclassify"), st.sampled_from(BIASED_ACTORS), st.sampled_from(list(MOVES))),
    st.tuples(
        st.just("transition"),
        st.sampled_from(BIASED_ACTORS),
        st.sampled_from(list(STATUS)),
        st.sampled_from(["answered", "workaround", "duplicate", "wont_fix", "kb_article"]),
    ),
    st.tuples(st.just("comment"), st.sampled_from(ACTORS)),
    st.tuples(st.just("publish")),
)


def run(case: Case, people: dict[str, User], action: tuple[Any, ...], article: Any) -> str:
    kind, *args = action
    try:
        if kind == "reclassify":
            services.reclassify_case(case=case, by=people[args[0]], to=args[1], reason="Triage.")
        elif kind == "comment":
            services.add_comment(case=case, by=people[args[0]], body="Any news?")
        else:
            actor, name, resolution = args
            options: dict[str, Any] = {}
            if name == "schedule_fix":
                options["release"] = Release.objects.create(version=f"r{Release.objects.count()}")
            if name == "resolve":
                options["resolution"] = resolution
                options["article"] = article if resolution == "kb_article" else None
            if name == "reopen":
                options["reason"] = "Still broken."
            services.transition_case(case=case, by=people[actor], name=name, **options)
    except PermissionDenied:
        return "denied"
    except TransitionNotAllowed:
        return "refused"
    except ValidationError:
        return "invalid"
    return "ok"


@pytest.mark.django_db
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    initial=st.sampled_from(list(MOVES)),
    opening=st.sampled_from(OPENINGS),
    steps=st.lists(actions, max_size=12),
)
def test_random_actions_match_the_reference_model(
    initial: str, opening: list[str], steps: list[tuple[Any, ...]]
) -> None:
    steps = [("transition", "support", name, "duplicate") for name in opening] + steps
    customer = factories.CustomerFactory.create()
    people = {
        "customer": customer,
        "stranger": factories.CustomerFactory.create(),
        "support": factories.SupportFactory.create(),
        "engineer": factories.EngineerFactory.create(),
    }
    article = factories.KnowledgeArticleFactory.create()
    case = factories.file_case(reporter=customer, type=initial)
    model = Model(type=initial, history=[("filed", "", "", initial)])

    for step in steps:
        if step[0] == "publish":
            fresh = Case.objects.get(pk=case.pk)
            release = fresh.target_release
            if release is None or release.is_published:
                continue
            services.publish_release(release=release, by=people["engineer"])
            model.publish(release.pk)
            outcome = expected = "ok"
        else:
            outcome = run(case, people, step, article)
            fresh = Case.objects.get(pk=case.pk)
            if step[0] == "reclassify":
                expected = model.reclassify(step[1], step[2])
            elif step[0] == "comment":
                expected = model.comment(step[1])
            else:
                release_pk = (
                    Release.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
                )
                expected = model.transition(step[1], step[2], step[3], release_pk)

        fresh = Case.objects.get(pk=case.pk)
        assert outcome == expected, step
        assert (fresh.type, fresh.status) == (model.type, model.status), step
        assert fresh.target_release_id == model.release or fresh.status not in ("fix_scheduled",), (
            step
        )
        assert (
            list(
                CaseEvent.objects.filter(case=case).values_list(
                    "kind", "transition", "from_value", "to_value"
                )
            )
            == model.history
        ), step
