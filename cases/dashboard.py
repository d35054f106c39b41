"""
The figures of the staff dashboard, computed with a few aggregate queries.

The reclassification matrix answers the question the whole workflow rests on:
how often is the customer's first guess of a case's type right? The type a
case was filed as is the ``to_value`` of its ``filed`` event; the type it ended
as is its current type.
"""

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import BooleanField as BooleanOutput
from django.db.models import Count, ExpressionWrapper, F, Q, QuerySet
from django.utils import timezone

from cases.models import FINISHED_STATUSES, Case, CaseEvent, CaseType, EventKind, Severity, Status

TYPES: tuple[str, ...] = tuple(CaseType.values)
TYPE_COLOURS = {
    CaseType.ISSUE: "#417690",
    CaseType.BUG: "#ba2121",
    CaseType.ENHANCEMENT: "#5b8a3c",
    CaseType.QUESTION: "#c48a1b",
}

# Upper bounds of the age buckets of the "waiting on us" table.
AGE_BUCKETS: tuple[tuple[str, datetime.timedelta | None], ...] = (
    ("under 4 hours", datetime.timedelta(hours=4)),
    ("4 to 24 hours", datetime.timedelta(days=1)),
    ("1 to 3 days", datetime.timedelta(days=3)),
    ("3 to 7 days", datetime.timedelta(days=7)),
    ("over 7 days", None),
)


def waiting_on_us() -> Q:
    """Return the condition of a case waiting on us: new or open, the customer spoke last.

    The staff list orders by it: migration cases/0004 indexes this exact expression.
    """
    return Q(status__in=[Status.NEW, Status.OPEN], last_customer_message_at__isnull=False) & (
        Q(last_staff_message_at__isnull=True)
        | Q(last_customer_message_at__gt=F("last_staff_message_at"))
    )


def annotate_waiting(queryset: "QuerySet[Case]") -> "QuerySet[Case]":
    return queryset.annotate(
        waiting_on_us=ExpressionWrapper(waiting_on_us(), output_field=BooleanOutput())
    )


def open_by_type_and_status() -> dict[str, Any]:
    """Return the unfinished cases counted by type (rows) and status (columns)."""
    statuses = [s for s in Status.values if s not in FINISHED_STATUSES]
    counts = {
        (row["type"], row["status"]): row["n"]
        for row in Case.objects.exclude(status__in=FINISHED_STATUSES)
        .order_by()
        .values("type", "status")
        .annotate(n=Count("id"))
    }
    rows = [
        {
            "type": CaseType(t).label,
            "cells": [counts.get((t, s), 0) for s in statuses],
            "total": sum(counts.get((t, s), 0) for s in statuses),
        }
        for t in TYPES
    ]
    return {
        "statuses": [Status(s).label for s in statuses],
        "status_values": statuses,
        "type_values": list(TYPES),
        "rows": rows,
        "column_totals": [sum(counts.get((t, s), 0) for t in TYPES) for s in statuses],
        "total": sum(counts.values()),
    }


def waiting_by_severity_and_age(now: datetime.datetime | None = None) -> dict[str, Any]:
    """Return the cases waiting on us by severity (rows) and time since the customer spoke."""
    now = now or timezone.now()
    aggregates: dict[str, Any] = {}
    lower: datetime.timedelta | None = datetime.timedelta(0)
    for index, (_label, upper) in enumerate(AGE_BUCKETS):
        condition = Q()
        if lower:
            condition &= Q(last_customer_message_at__lte=now - lower)
        if upper is not None:
            condition &= Q(last_customer_message_at__gt=now - upper)
        aggregates[f"b{index}"] = Count("id", filter=condition)
        lower = upper
    found = {
        row["severity"]: row
        for row in Case.objects.filter(waiting_on_us())
        .order_by()
        .values("severity")
        .annotate(**aggregates)
    }
    rows: list[dict[str, Any]] = []
    for severity in Severity:
        row: dict[str, Any] = dict(found.get(severity.value) or {})
        cells: list[int] = [row.get(f"b{i}", 0) for i in range(len(AGE_BUCKETS))]
        rows.append(
            {
                "severity": severity.value,
                "label": severity.label,
                "cells": cells,
                "total": sum(cells),
            }
        )
    return {
        "buckets": [label for label, _ in AGE_BUCKETS],
        "rows": rows,
        "total": sum(row["total"] for row in rows),
    }


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    colour: str
    label: str
    count: int


def reclassification_matrix() -> dict[str, dict[str, int]]:
    """Return, for each type cases were filed as, how many ended as each type."""
    matrix = {filed: dict.fromkeys(TYPES, 0) for filed in TYPES}
    rows = (
        CaseEvent.objects.filter(kind=EventKind.FILED)
        .order_by()
        .values("to_value", "case__type")
        .annotate(n=Count("id"))
    )
    for row in rows:
        if row["to_value"] in matrix and row["case__type"] in TYPES:
            matrix[row["to_value"]][row["case__type"]] += row["n"]
    return matrix


def reclassification_flow(matrix: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Return the matrix as table rows and the geometry of its SVG bar chart."""
    chart_width, label_width, bar_height, gap = 560.0, 110.0, 26.0, 14.0
    total = sum(sum(row.values()) for row in matrix.values())
    kept = sum(matrix[t][t] for t in TYPES)
    widest = max((sum(row.values()) for row in matrix.values()), default=0) or 1
    scale = (chart_width - label_width - 50) / widest
    rows = []
    for index, filed in enumerate(TYPES):
        row_total = sum(matrix[filed].values())
        bars, x = [], label_width
        for final in TYPES:
            count = matrix[filed][final]
            if count:
                width = count * scale
                bars.append(
                    Bar(
                        x=round(x, 1),
                        width=round(width, 1),
                        colour=TYPE_COLOURS[CaseType(final)],
                        label=f"{CaseType(filed).label} → {CaseType(final).label}: {count}",
                        count=count,
                    )
                )
                x += width
        rows.append(
            {
                "filed": filed,
                "label": CaseType(filed).label,
                "cells": [matrix[filed][final] for final in TYPES],
                "total": row_total,
                "kept": matrix[filed][filed],
                "kept_percent": round(100 * matrix[filed][filed] / row_total)
                if row_total
                else None,
                "y": round(gap + index * (bar_height + gap), 1),
                "text_y": round(gap + index * (bar_height + gap) + bar_height * 0.68, 1),
                "end_x": round(x + 6, 1),
                "bars": bars,
            }
        )
    legend_y = gap + len(TYPES) * (bar_height + gap) + 4
    return {
        "types": [CaseType(t).label for t in TYPES],
        "rows": rows,
        "column_totals": [sum(matrix[f][t] for f in TYPES) for t in TYPES],
        "total": total,
        "kept": kept,
        "kept_percent": round(100 * kept / total) if total else None,
        "chart": {
            "width": chart_width,
            "height": legend_y + 26,
            "bar_height": bar_height,
            "label_width": label_width,
            "legend_y": legend_y,
            "legend": [
                {
                    "x": label_width + i * 110,
                    "colour": TYPE_COLOURS[CaseType(t)],
                    "label": CaseType(t).label,
                }
                for i, t in enumerate(TYPES)
            ],
        },
    }


def dashboard_context(now: datetime.datetime | None = None) -> dict[str, Any]:
    matrix = reclassification_matrix()
    return {
        "open_cases": open_by_type_and_status(),
        "waiting": waiting_by_severity_and_age(now),
        "matrix": matrix,
        "flow": reclassification_flow(matrix),
    }
