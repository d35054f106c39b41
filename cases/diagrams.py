"""State diagrams of the two machines, drawn from the transitions declared on `Case`."""

from django_fsm import FSMField

from cases.models import Case, CaseType


def mermaid(field_name: str) -> str:
    """Return a Mermaid state diagram of the transitions on `Case.<field_name>`."""
    field = Case._meta.get_field(field_name)
    assert isinstance(field, FSMField)
    lines = ["stateDiagram-v2"]
    # A case starts `new`; its first type is whichever the customer picks.
    starts = [field.default] if field_name == "status" else CaseType.values
    lines += [f"    [*] --> {start}" for start in starts]
    edges = sorted(
        {
            (str(t.source), str(t.target), t.name)
            for t in field.get_all_transitions(Case)
            if t.source != "*"
        }
    )
    lines += [f"    {source} --> {target}: {name}" for source, target, name in edges]
    if field_name == "status":
        lines.append("    closed --> [*]")
    return "\n".join(lines)
