"""Reading what the client prefetched, checked against the service's own templates.

Only keys the service declared are read (a client MUST NOT send another service's prefetch, and the
service never trusts one it did not ask for). A key counts as *provided* only when it holds usable data:
a missing key, ``null`` for a read, an OperationOutcome or a Bundle that reports an error are all
"not provided", and the caller then fetches the data or answers 412.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fhir.resources.R4B import fhirtypes

from ..errors import InvalidRequest, named


def is_fhir_type(name: object) -> bool:
    """Whether ``name`` is a FHIR R4 resource type ("Observation"), without loading its model."""
    return (
        isinstance(name, str)
        and name[:1].isupper()
        and name.isalnum()
        and hasattr(fhirtypes, name + "Type")
    )


@dataclass(frozen=True)
class Prefetch:
    """One prefetch key a service declares: its template, whether the call needs it, and the
    resource type it yields."""

    template: str
    required: bool
    #: The FHIR resource type a read returns, or that a search's Bundle holds.
    resource_type: str

    @property
    def is_read(self) -> bool:
        return "?" not in self.template


_ERROR_SEVERITIES = {"error", "fatal"}


@dataclass(frozen=True)
class PrefetchValue:
    """One declared key: its resources when provided, else why it was not."""

    key: str
    provided: bool
    resources: tuple[dict[str, Any], ...] = ()
    reason: str = ""
    #: The searchset Bundle as sent, so that paging links can be followed.
    bundle: Mapping[str, Any] | None = field(default=None, repr=False)


def _list(value: Any) -> list[Any]:
    """A JSON array field as a list; any other JSON type as an empty list (checked elsewhere)."""
    return value if isinstance(value, list) else []


def next_link(bundle: Mapping[str, Any]) -> str | None:
    """The URL of a searchset Bundle's next page, if it has one."""
    for link in _list(bundle.get("link")):
        if (
            isinstance(link, dict)
            and link.get("relation") == "next"
            and isinstance(link.get("url"), str)
        ):
            return str(link["url"])
    return None


def _has_error(outcome: Mapping[str, Any]) -> bool:
    return any(
        isinstance(i, dict) and i.get("severity") in _ERROR_SEVERITIES
        for i in _list(outcome.get("issue"))
    )


@dataclass(frozen=True)
class FetchJob:
    """A declared key to fetch from the FHIR server: a rendered query, or the rest of the pages of
    a prefetched Bundle (``start``)."""

    key: str
    spec: Prefetch
    query: str
    start: PrefetchValue | None = None


def read_value(
    key: str, spec: Prefetch, value: Any, sent: bool, source: str = "the client"
) -> PrefetchValue:
    """Classify the value the client sent (or the FHIR server answered) for one declared key."""
    where = f"prefetch.{key}"
    if not sent:
        return PrefetchValue(key, False, reason="not in prefetch")
    if value is None:
        if spec.is_read:
            return PrefetchValue(key, False, reason="prefetch is null")
        return PrefetchValue(key, True)  # a search with no data
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        raise InvalidRequest(f"{where} must be a FHIR resource, a Bundle or null")
    kind = value["resourceType"]
    if kind == "OperationOutcome":
        return PrefetchValue(key, False, reason=f"{source} reported an OperationOutcome")
    if spec.is_read:
        if kind != spec.resource_type:
            raise InvalidRequest(f"{where} must be a {spec.resource_type}, not {named(kind)}")
        return PrefetchValue(key, True, resources=(value,))
    if kind != "Bundle":
        raise InvalidRequest(f"{where} must be a searchset Bundle, not {named(kind)}")
    entries = value.get("entry")
    if entries is not None and not isinstance(entries, list):
        raise InvalidRequest(f"{where}.entry must be an array")
    if value.get("link") is not None and not isinstance(value.get("link"), list):
        raise InvalidRequest(f"{where}.link must be an array")
    resources = []
    for index, entry in enumerate(entries or ()):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            raise InvalidRequest(f"{where}.entry[{index}] has no resource")
        kind = resource.get("resourceType")
        if not is_fhir_type(kind):
            # Another type than the one searched is an include, left out; what is no FHIR type
            # at all may have held anything, and the caller must hear of it.
            problem = "has no resourceType" if kind is None else f"is {named(kind)}"
            raise InvalidRequest(
                f"{where}.entry[{index}].resource {problem}, not a FHIR R4 resource type"
            )
        if kind == "OperationOutcome" and _has_error(resource):
            return PrefetchValue(key, False, reason=f"{source} reported an error in the Bundle")
        if kind == spec.resource_type:
            resources.append(resource)
    return PrefetchValue(key, True, resources=tuple(resources), bundle=value)
