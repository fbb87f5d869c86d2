"""The response models refuse invalid cards, so none can leave the service."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from cds_service.protocol import (
    Action,
    Card,
    CDSResponse,
    FeedbackEntry,
    HookRequest,
    Link,
    Source,
    Suggestion,
    to_wire,
)

SOURCE = Source(label="Milia guidance")


def card(**fields: Any) -> Card:
    base: dict[str, Any] = {
        "summary": "Consider dermatology review",
        "indicator": "info",
        "source": SOURCE,
    }
    base.update(fields)
    return Card(**base)


def create(resource_type: str = "ServiceRequest") -> Action:
    return Action(type="create", description="Refer", resource={"resourceType": resource_type})


def test_summary_must_stay_under_140_characters() -> None:
    card(summary="x" * 139)
    with pytest.raises(ValidationError, match="at most 139"):
        card(summary="x" * 140)


@pytest.mark.parametrize("indicator", ["hard-stop", "success", ""])
def test_indicator_is_info_warning_or_critical(indicator: str) -> None:
    with pytest.raises(ValidationError):
        card(indicator=indicator)


def test_source_needs_a_label() -> None:
    with pytest.raises(ValidationError):
        Source(label="")


def test_suggestions_need_selection_behavior() -> None:
    with pytest.raises(ValidationError, match="selectionBehavior is required"):
        card(suggestions=[Suggestion(label="Refer")])
    card(suggestions=[Suggestion(label="Refer")], selectionBehavior="at-most-one")


def test_at_most_one_allows_one_recommended_suggestion() -> None:
    two = [Suggestion(label="A", isRecommended=True), Suggestion(label="B", isRecommended=True)]
    with pytest.raises(ValidationError, match="one recommended"):
        card(suggestions=two, selectionBehavior="at-most-one")
    card(suggestions=two, selectionBehavior="any")


def test_override_reasons_need_display() -> None:
    with pytest.raises(ValidationError):
        card(overrideReasons=[{"system": "http://example.org", "code": "x"}])


def test_app_context_only_on_smart_links() -> None:
    with pytest.raises(ValidationError, match="only on smart links"):
        Link(label="App", url="https://app.example.org", type="absolute", appContext="x")
    Link(label="App", url="https://app.example.org", type="smart", appContext="x")


def test_link_urls_are_kept_exactly_as_written() -> None:
    link = Link(label="Ref", url="https://doi.org/10.1016/j.jaad.2008.07.034", type="absolute")
    assert to_wire(link)["url"] == "https://doi.org/10.1016/j.jaad.2008.07.034"
    with pytest.raises(ValidationError):
        Link(label="Ref", url="javascript:alert(1)", type="absolute")


def test_actions_need_description_and_delete_uses_resource_id() -> None:
    with pytest.raises(ValidationError):
        Action(type="create", description="", resource={"resourceType": "ServiceRequest"})
    with pytest.raises(ValidationError, match="needs a resource"):
        Action(type="update", description="Update")
    with pytest.raises(ValidationError, match="resourceId and no resource"):
        Action(type="delete", description="Remove", resource={"resourceType": "ServiceRequest"})
    Action(type="delete", description="Remove", resourceId="ServiceRequest/1")


def test_empty_lists_are_refused_and_optional_fields_omitted() -> None:
    with pytest.raises(ValidationError):
        card(links=[])
    with pytest.raises(ValidationError):
        Suggestion(label="A", actions=[])
    wire = to_wire(CDSResponse(cards=[card()]))
    assert wire == {
        "cards": [
            {
                "summary": "Consider dermatology review",
                "indicator": "info",
                "source": {"label": "Milia guidance"},
            }
        ]
    }
    assert to_wire(CDSResponse(cards=[])) == {"cards": []}


def test_extension_objects_are_accepted_and_other_fields_refused() -> None:
    extended = card(extension={"org.example.score": {"value": 3}})
    assert to_wire(extended)["extension"] == {"org.example.score": {"value": 3}}
    with pytest.raises(ValidationError):
        card(extension=["not", "an", "object"])
    with pytest.raises(ValidationError):
        card(unknownField=True)


def test_request_tolerates_unknown_fields_and_hides_the_token() -> None:
    request = HookRequest.model_validate(
        {
            "hook": "patient-view",
            "hookInstance": "1",
            "context": {},
            "fhirServer": "https://ehr.example.org/fhir",
            "fhirAuthorization": {
                "access_token": "secret-token",
                "token_type": "Bearer",
                "expires_in": 300,
                "scope": "patient/*.read",
                "subject": "svc",
            },
            "futureField": 1,
        }
    )
    assert request.fhirServer == "https://ehr.example.org/fhir"
    assert "secret-token" not in repr(request)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"outcome": "accepted"}, "acceptedSuggestions is required"),
        ({"outcome": "overridden", "overrideReason": {}}, "needs a reason or a userComment"),
        ({"outcome": "dismissed"}, "outcome"),
        ({"outcome": "overridden", "outcomeTimestamp": "2021-12-11 10:05:31"}, "RFC 3339"),
        ({"outcome": "overridden", "outcomeTimestamp": "yesterday"}, "RFC 3339"),
    ],
)
def test_feedback_entry_rules(entry: dict[str, Any], problem: str) -> None:
    data = {"card": "c1", "outcomeTimestamp": "2021-12-11T10:05:31Z", **entry}
    with pytest.raises(ValidationError, match=problem):
        FeedbackEntry.model_validate(data)


def test_feedback_timestamps_are_normalised_to_utc() -> None:
    entry = FeedbackEntry.model_validate(
        {"card": "c1", "outcome": "overridden", "outcomeTimestamp": "2021-12-11T12:05:31+02:00"}
    )
    assert entry.outcomeTimestamp.isoformat() == "2021-12-11T10:05:31+00:00"
