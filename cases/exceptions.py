"""Errors of the case domain, each with a stable machine code and an HTTP status."""

from collections.abc import Sequence


class CaseError(Exception):
    code = "case_error"
    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TransitionNotAllowed(CaseError):
    """A move the rules refuse now; `allowed` lists the moves this user could make instead."""

    code = "transition_not_allowed"
    http_status = 409

    def __init__(self, message: str, *, allowed: Sequence[str]) -> None:
        allowed = list(allowed)
        if allowed:
            message = f"{message} Allowed now: {', '.join(allowed)}."
        else:
            message = f"{message} No move is allowed now."
        super().__init__(message)
        self.allowed = allowed


class StaleCase(CaseError):
    """The case changed since the caller read it; nothing was done."""

    code = "case_changed"
    http_status = 412

    def __init__(self, *, expected: int, actual: int) -> None:
        super().__init__(
            "Someone changed this case since you loaded it "
            f"(version {expected}, now {actual}). Reload it and try again."
        )
        self.expected = expected
        self.actual = actual


class ReleaseAlreadyPublished(CaseError):
    code = "release_already_published"
    http_status = 409
