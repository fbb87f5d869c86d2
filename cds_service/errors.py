"""The service's exception tree, each error carrying its HTTP meaning.

Errors from libraries underneath (pydantic, requests, YAML, SQLAlchemy) are translated into these where
they occur, so the single error handler in ``api`` can render every failure the same way: a FHIR
OperationOutcome whose text names the problem, never a stack trace.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import ValidationError


class CDSError(Exception):
    """Base of every error the service answers on purpose."""

    status: ClassVar[int] = 500
    #: FHIR issue-type code (http://hl7.org/fhir/issue-type) for the OperationOutcome.
    issue_code: ClassVar[str] = "exception"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(CDSError):
    status = 400
    issue_code = "invalid"


class Unauthorized(CDSError):
    """Fails closed: the message is for the log only, the caller gets no detail."""

    status = 401
    issue_code = "login"


class UnknownService(CDSError):
    status = 404
    issue_code = "not-found"


class PayloadTooLarge(CDSError):
    status = 413
    issue_code = "too-costly"


class UnsupportedMediaType(CDSError):
    status = 415
    issue_code = "not-supported"


class PreconditionFailed(CDSError):
    """Required FHIR data could not be obtained from prefetch or the FHIR server (CDS Hooks §412)."""

    status = 412
    issue_code = "incomplete"


class ServiceUnavailable(CDSError):
    status = 503
    issue_code = "transient"


class DatabaseUnavailable(ServiceUnavailable):
    """The database did not answer within its budget (down, locked, or refusing the write)."""


class ConfigurationError(CDSError):
    """A setting, configuration file or catalogue the service cannot start with (never a request's
    fault: it is reported at start-up, by the command that read it)."""

    status = 500
    issue_code = "invariant"


class ContentError(CDSError):
    """The knowledge base in ``cards/`` is invalid; the service refuses to start on it."""

    status = 500
    issue_code = "invariant"

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid content:\n" + "\n".join(problems))


def operation_outcome(status: int, issue_code: str, message: str) -> dict[str, Any]:
    """Render one problem as a FHIR R4 OperationOutcome resource."""
    severity = "error" if status >= 400 else "information"
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": issue_code, "diagnostics": message}],
    }


#: What a name in a request looks like (a hook, a resource type, a field): a short word.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9._:-]{0,63}")


def named(value: object) -> str:
    """A value from a request as a message shows it: quoted when it is a short name ("hook
    'order-select' does not match"), described otherwise. Free text is never echoed: it may hold
    patient data, messages are logged, and a 9 MB value would come back 9 MB."""
    if isinstance(value, str) and _NAME.fullmatch(value):
        return f"'{value}'"
    return "(a value that is not a name)"


def describe_validation_error(exc: ValidationError, where: str = "", limit: int = 3) -> str:
    """Name the failing fields of a pydantic error without echoing their values (they may be PHI)."""
    parts = []
    for error in exc.errors()[:limit]:
        loc = (p if isinstance(p, int) or _NAME.fullmatch(p) else "(key)" for p in error["loc"])
        path = ".".join(str(p) for p in (where, *loc) if p != "")
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{path}: {message}" if path else message)
    more = len(exc.errors()) - limit
    if more > 0:
        parts.append(f"and {more} more problem{'s' if more > 1 else ''}")
    return "; ".join(parts)
