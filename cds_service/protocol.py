"""CDS Hooks 2.0 wire models, named as the specification names them.

Request models tolerate unknown fields (clients add extensions and newer fields); response models
forbid them, and their validators enforce the spec's rules and the 3.0 draft's ``cds-resp-*`` invariants,
so an invalid card cannot leave the service. Optional fields are ``None`` in Python and omitted on the
wire (see :func:`to_wire`): the spec prohibits ``null``, ``""`` and ``[]`` for elements without a value.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

NonEmptyStr = Annotated[str, StringConstraints(min_length=1)]
#: An identifier a client sends back and the service stores (a card id, a reason code): printable,
#: and no longer than the column that holds it.
StoredId = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
]
#: "One-sentence, <140-character" (CDS Hooks 2.0 §Card).
Summary = Annotated[str, StringConstraints(min_length=1, max_length=139)]
#: RFC 6750's b64token: what may follow "Bearer " in an Authorization header. A token with a
#: line break or a non-ASCII character would be refused by the HTTP library (or sent raw).
BearerToken = Annotated[
    str, StringConstraints(min_length=1, max_length=8192, pattern=r"^[A-Za-z0-9\-._~+/]+=*$")
]
#: A JSON object; ``extension`` is reserved on every object and its value MUST be an object.
Extension = dict[str, Any]


def _absolute_url(value: str) -> str:
    # Checked, not rewritten: pydantic's URL types add a trailing slash, which can break deep links.
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc or any(c.isspace() for c in value):
        raise ValueError("must be an absolute http(s) URL")
    return value


AbsoluteUrl = Annotated[str, AfterValidator(_absolute_url)]

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE
)


class _Request(BaseModel):
    """Base of what clients send: unknown fields are tolerated."""

    model_config = ConfigDict(extra="allow", frozen=True)

    extension: Extension | None = None


class _Response(BaseModel):
    """Base of what the service sends: only the spec's fields, checked on construction."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    extension: Extension | None = None


# --------------------------------------------------------------------------------------- shared


class Coding(_Response):
    system: NonEmptyStr
    code: NonEmptyStr
    display: NonEmptyStr | None = None


class OverrideReason(Coding):
    """A Coding in ``card.overrideReasons``: ``display`` is REQUIRED there (cds-resp-4)."""

    display: NonEmptyStr


# -------------------------------------------------------------------------------------- request


class FhirAuthorization(_Request):
    """An OAuth 2.0 bearer token for ``fhirServer``; transient, never stored, logged or echoed."""

    access_token: BearerToken = Field(repr=False)
    token_type: Literal["Bearer"]
    expires_in: int = Field(ge=0)
    scope: NonEmptyStr
    subject: NonEmptyStr
    patient: NonEmptyStr | None = None


class HookRequest(_Request):
    hook: NonEmptyStr
    hookInstance: NonEmptyStr
    fhirServer: AbsoluteUrl | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, dict[str, Any] | None] | None = None

    @model_validator(mode="after")
    def _authorization_needs_server(self) -> HookRequest:
        # cds-r-1: fhirAuthorization implies fhirServer.
        if self.fhirAuthorization is not None and self.fhirServer is None:
            raise ValueError("fhirServer is required when fhirAuthorization is present")
        return self


# ------------------------------------------------------------------------------------- response


class Source(_Response):
    label: NonEmptyStr
    url: AbsoluteUrl | None = None
    icon: AbsoluteUrl | None = None
    topic: Coding | None = None


class Action(_Response):
    type: Literal["create", "update", "delete"]
    description: NonEmptyStr
    resource: dict[str, Any] | None = None
    resourceId: NonEmptyStr | None = None

    @model_validator(mode="after")
    def _resource_by_type(self) -> Action:
        if self.type in {"create", "update"} and not self.resource:
            raise ValueError(f"a {self.type} action needs a resource")
        if self.type == "delete" and (self.resourceId is None or self.resource is not None):
            # cds-resp-2: delete uses resourceId; carrying the id in resource is deprecated.
            raise ValueError("a delete action uses resourceId and no resource")
        return self


class Suggestion(_Response):
    label: NonEmptyStr
    uuid: NonEmptyStr | None = None
    isRecommended: bool | None = None
    actions: Annotated[list[Action], Field(min_length=1)] | None = None


class Link(_Response):
    label: NonEmptyStr
    url: AbsoluteUrl
    type: Literal["absolute", "smart"]
    appContext: NonEmptyStr | None = None
    autolaunchable: bool | None = None

    @model_validator(mode="after")
    def _app_context_only_on_smart(self) -> Link:
        if self.appContext is not None and self.type != "smart":
            raise ValueError("appContext is allowed only on smart links")  # cds-resp-3
        return self


class Card(_Response):
    uuid: NonEmptyStr | None = None
    summary: Summary
    detail: NonEmptyStr | None = None
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: Annotated[list[Suggestion], Field(min_length=1)] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: Annotated[list[OverrideReason], Field(min_length=1)] | None = None
    links: Annotated[list[Link], Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _selection_rules(self) -> Card:
        if self.suggestions and self.selectionBehavior is None:
            raise ValueError("selectionBehavior is required with suggestions")  # cds-resp-6
        if self.selectionBehavior is not None and not self.suggestions:
            raise ValueError("selectionBehavior without suggestions")
        recommended = sum(1 for s in self.suggestions or () if s.isRecommended)
        if self.selectionBehavior == "at-most-one" and recommended > 1:
            raise ValueError("at-most-one allows one recommended suggestion at most")  # cds-resp-1
        return self


class CDSResponse(_Response):
    cards: list[Card]
    systemActions: Annotated[list[Action], Field(min_length=1)] | None = None


# ------------------------------------------------------------------------------------ discovery


class ServiceDescriptor(_Response):
    hook: NonEmptyStr
    id: NonEmptyStr
    title: NonEmptyStr | None = None
    description: NonEmptyStr
    prefetch: dict[str, NonEmptyStr] | None = None
    usageRequirements: NonEmptyStr | None = None


class DiscoveryResponse(_Response):
    services: list[ServiceDescriptor]


# ------------------------------------------------------------------------------------- feedback


class AcceptedSuggestion(_Request):
    id: StoredId


class FeedbackReason(_Request):
    """The chosen override reason. Clients (the sandbox among them) may omit ``display``."""

    system: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    code: StoredId
    display: str | None = None


class OverrideReasonFeedback(_Request):
    reason: FeedbackReason | None = None
    userComment: str | None = Field(default=None, repr=False, max_length=4000)

    @model_validator(mode="after")
    def _reason_or_comment(self) -> OverrideReasonFeedback:
        if self.reason is None and not self.userComment:
            raise ValueError("overrideReason needs a reason or a userComment")  # cds-fb-3
        return self


class FeedbackEntry(_Request):
    card: StoredId
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: Annotated[list[AcceptedSuggestion], Field(max_length=100)] | None = None
    overrideReason: OverrideReasonFeedback | None = None
    outcomeTimestamp: datetime

    @field_validator("outcomeTimestamp", mode="before")
    @classmethod
    def _rfc3339(cls, value: Any) -> datetime:
        if not isinstance(value, str) or not _RFC3339.match(value):
            raise ValueError("must be an RFC 3339 date-time such as 2021-12-11T10:05:31Z")
        try:
            return datetime.fromisoformat(value.upper().replace("Z", "+00:00")).astimezone(UTC)
        except (ValueError, OverflowError):
            raise ValueError("is out of the range of dates this service can store") from None

    @model_validator(mode="after")
    def _outcome_rules(self) -> FeedbackEntry:
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions is required when the outcome is accepted")
        if self.outcome == "accepted" and self.overrideReason is not None:
            raise ValueError("overrideReason belongs to an overridden outcome")
        return self


class FeedbackRequest(_Request):
    #: One EHR call reports the cards of one hook call: a few entries, never thousands (stored in
    #: one transaction, which must stay within the database budget).
    feedback: Annotated[list[FeedbackEntry], Field(min_length=1, max_length=100)]


class FeedbackAck(_Response):
    received: int
    stored: int
    duplicates: int


def to_wire(model: BaseModel) -> dict[str, Any]:
    """Serialise a response model the CDS Hooks way: unset optional fields are omitted."""
    return model.model_dump(mode="json", exclude_none=True)
