"""Hostile and malformed input, one class per row: each is answered 4xx naming the problem, or 200
when the service can answer, never 500. The time each takes is measured in bench/, not here."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import build_app, scenario_request, searchset

PV = "/cds-services/milia-patient-view"
SIGN = "/cds-services/milia-order-sign"


def chart() -> dict[str, Any]:
    return scenario_request("01-coded-milia-adult")


def with_condition_code(code: Any) -> dict[str, Any]:
    request = chart()
    request["prefetch"]["conditions"]["entry"][0]["resource"]["code"]["coding"][0]["code"] = code
    return request


def nested_extensions(depth: int) -> dict[str, Any]:
    request = chart()
    top: dict[str, Any] = {"url": "http://example.org/x"}
    current = top
    for _ in range(depth):
        inner: dict[str, Any] = {"url": "http://example.org/x"}
        current["extension"] = [inner]
        current = inner
    current["valueString"] = "end"
    note = {
        "resourceType": "Observation",
        "id": "deep",
        "status": "final",
        "code": {"text": "Skin exam"},
        "valueString": "Milia on the cheeks.",
        "extension": [top],
    }
    request["prefetch"]["skinObservations"] = searchset(note)
    return request


def overflowing_duration() -> dict[str, Any]:
    request = chart()
    patient = request["context"]["patientId"]
    request["prefetch"]["medicationRequests"] = searchset(
        {
            "resourceType": "MedicationRequest",
            "id": "m1",
            "status": "active",
            "intent": "order",
            "subject": {"reference": f"Patient/{patient}"},
            "medicationCodeableConcept": {"text": "Clobetasol 0.05% cream"},
            "dosageInstruction": [
                {"timing": {"repeat": {"boundsDuration": {"value": 1e308, "code": "a"}}}}
            ],
        }
    )
    return request


def unknown_draft_order() -> dict[str, Any]:
    request = scenario_request("27-order-select-retinoid-periocular")
    request["hook"] = "order-sign"
    request["context"].pop("selections", None)
    request["context"]["draftOrders"]["entry"].append({"resource": {"resourceType": "Frobnicate"}})
    return request


def colons_in_medication() -> dict[str, Any]:
    # One long token: the tokenizer tries its prefixes and suffixes one by one (was 30 s).
    request = overflowing_duration()
    medication = request["prefetch"]["medicationRequests"]["entry"][0]["resource"]
    medication["medicationCodeableConcept"]["text"] = "tretinoin " + ":" * 20_000
    medication["dosageInstruction"] = [{"text": ":" * 20_000}]
    return request


def mutate(edit: Callable[[dict[str, Any]], None]) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        request = copy.deepcopy(chart())
        edit(request)
        return request

    return build


# (name, path, request builder, statuses accepted, words the answer must hold)
CASES: list[tuple[str, str, Callable[[], Any], set[int], str]] = [
    ("code is an object", PV, lambda: with_condition_code({"a": 1}), {400}, "code"),
    ("code is a number", PV, lambda: with_condition_code(12345), {400}, "code"),
    (
        "coding is a string",
        PV,
        mutate(
            lambda r: r["prefetch"]["conditions"]["entry"][0]["resource"]["code"].update(coding="x")
        ),
        {400},
        "coding",
    ),
    (
        "entry is a string",
        PV,
        mutate(lambda r: r["prefetch"]["conditions"].update(entry="x")),
        {400},
        "entry",
    ),
    ("extensions nested 300 deep", PV, lambda: nested_extensions(300), {400}, "levels deep"),
    ("a duration of 1e308 years", PV, overflowing_duration, {200}, ""),
    ("a draft order of an unknown type", SIGN, unknown_draft_order, {200}, ""),
    (
        "context is a list",
        PV,
        mutate(lambda r: r.update(context=[1, 2])),
        {400},
        "context",
    ),
    (
        "Bundle entry is a number",
        PV,
        mutate(lambda r: r["prefetch"]["conditions"].update(entry=12)),
        {400},
        "entry must be an array",
    ),
    (
        "Bundle link is a number",
        PV,
        mutate(lambda r: r["prefetch"]["conditions"].update(link=12)),
        {400},
        "link must be an array",
    ),
    (
        "an OperationOutcome entry whose issue is a number",
        PV,
        mutate(
            lambda r: r["prefetch"]["conditions"]["entry"].append(
                {"resource": {"resourceType": "OperationOutcome", "issue": 12}}
            )
        ),
        {200},
        "",
    ),
    ("a medication text of 20,000 colons", PV, lambda: colons_in_medication(), {200}, ""),
    (
        "an access token with a line break",
        PV,
        mutate(
            lambda r: r.update(
                fhirServer="https://ehr.example.org/fhir",
                fhirAuthorization={
                    "access_token": "abc\r\nX-Injected: 1",
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "scope": "patient/*.read",
                    "subject": "cds-service",
                },
            )
        ),
        {400},
        "fhirAuthorization.access_token",
    ),
    # An entry that is no FHIR resource at all may have held anything: the caller hears of it
    # (it was dropped silently, red-flag text and all).
    (
        "an entry of no FHIR type",
        PV,
        mutate(
            lambda r: r["prefetch"]["conditions"]["entry"][0]["resource"].update(resourceType="Foo")
        ),
        {400},
        "not a FHIR R4 resource type",
    ),
    (
        "an entry with no resourceType",
        PV,
        mutate(lambda r: r["prefetch"]["conditions"]["entry"][0]["resource"].pop("resourceType")),
        {400},
        "has no resourceType",
    ),
    (
        "prefetch value is a number",
        PV,
        mutate(lambda r: r["prefetch"].update(conditions=7)),
        {400},
        "conditions",
    ),
]


@pytest.mark.parametrize(
    ("path", "build", "statuses", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_hostile_input_is_answered_not_crashed_on(
    client: FlaskClient, path: str, build: Callable[[], Any], statuses: set[int], words: str
) -> None:
    response = client.post(path, json=build())
    assert response.status_code in statuses, response.get_json()
    body = response.get_json()
    if response.status_code >= 400:
        assert body["resourceType"] == "OperationOutcome"
        assert words in body["issue"][0]["diagnostics"]


def test_a_birth_date_in_the_future_is_no_age_and_no_newborn(client: FlaskClient) -> None:
    request = scenario_request("76-newborn-pearly-white-milia")
    request["prefetch"]["patient"]["birthDate"] = "2099-01-01"
    cards = client.post(PV, json=request).get_json()["cards"]
    assert cards and not any("newborn" in c["summary"].lower() for c in cards)
    # With no usable age, "pearly" weighs as for an adult (red-flags.yaml: unknown_age applies).
    assert [c["indicator"] for c in cards] == ["warning"]


@pytest.mark.parametrize(
    "note",
    [
        "Milia on the nose that \u200ebleeds\u200e easily and is crusted.",
        "\u200fMilia\u200f on the nose that bleeds easily and is crusted.",
        "Milia\u200bon the nose that bleeds\u200beasily and is crusted.",
        "Milia on the nose that ble\u202eeds\u202c easily and is crusted.",
    ],
    ids=["left-to-right marks", "right-to-left marks", "zero-width spaces", "an embedding"],
)
def test_invisible_characters_hide_no_red_flag(client: FlaskClient, note: str) -> None:
    # Pasted from a word processor or right-to-left text, the marks must not hide a word: the
    # answer would be the benign card, or none, for a bleeding lesion.
    request = scenario_request("12-red-flag-bleeding")
    observation = request["prefetch"]["skinObservations"]["entry"][0]["resource"]
    observation["valueString"] = note
    cards = client.post(PV, json=request).get_json()["cards"]
    assert [c["indicator"] for c in cards] == ["warning"]


@pytest.mark.parametrize(
    ("edit", "named_in_the_answer"),
    [
        (lambda r: r.update(hook="Patient Jane Doe MRN 123 has a bleeding lesion"), "hook"),
        (lambda r: r.update(hook="y" * 1_000_000), "hook"),
        (lambda r: r["prefetch"]["patient"].update(resourceType="Jane Doe, MRN 123"), "Patient"),
        (
            lambda r: r["prefetch"]["skinObservations"]["entry"][0]["resource"].update(
                {"Jane Doe MRN 123": 1}
            ),
            "Extra inputs",
        ),
    ],
    ids=["a name as the hook", "a megabyte hook", "a name as the resourceType", "a name as a key"],
)
def test_a_value_from_the_request_is_never_echoed_nor_logged(
    client: FlaskClient,
    caplog: pytest.LogCaptureFixture,
    edit: Callable[[dict[str, Any]], None],
    named_in_the_answer: str,
) -> None:
    # The 400 names the problem; the request's free text (possibly a patient's) stays out of the
    # answer and out of the log, whatever its size.
    caplog.set_level(logging.INFO)  # another test's app may have raised the root's level
    request = scenario_request("12-red-flag-bleeding")
    edit(request)
    response = client.post(PV, json=request)
    assert response.status_code == 400
    assert len(response.data) < 2000
    said = response.get_json()["issue"][0]["diagnostics"]
    assert named_in_the_answer in said
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "answered 400" in logged  # the log was captured
    for text in (said, logged):
        assert "Jane" not in text and "yyyy" not in text


def _draft(edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    request = scenario_request("108-order-sign-tazarotene-back-pregnancy-coded")
    edit(request["context"]["draftOrders"]["entry"][0]["resource"])
    return request


@pytest.mark.parametrize(
    "edit",
    [
        lambda o: o.update(note="take with food"),
        lambda o: o.update(_vendorField={}),
        lambda o: o.update(dispenseRequest={"numberOfRepeatsAllowed": -5}),
        lambda o: o.update(authoredOn="yesterday"),
    ],
    ids=["a note as a string", "a vendor's field", "negative repeats", "a date in words"],
)
def test_a_draft_order_with_one_element_out_of_shape_keeps_its_caution(
    client: FlaskClient, caplog: pytest.LogCaptureFixture, edit: Callable[[dict[str, Any]], None]
) -> None:
    # A retinoid ordered in pregnancy: the caution must not vanish because the EHR wrote one
    # element of the order in its own way. The log names the element, never its value.
    caplog.set_level(logging.INFO)
    summaries = [c["summary"] for c in client.post(SIGN, json=_draft(edit)).get_json()["cards"]]
    assert any("retinoid in pregnancy" in s for s in summaries), summaries
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "draft order read without" in logged
    assert "take with food" not in logged and "yesterday" not in logged


def test_a_draft_order_whose_medicine_cannot_be_read_is_skipped(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    # Not a 400 (the sandbox's own R4 examples have STU3 dosages), not a 500: skipped, logged.
    caplog.set_level(logging.INFO)
    request = _draft(lambda o: o["medicationCodeableConcept"]["coding"][0].update(code=12345))
    assert client.post(SIGN, json=request).status_code == 200
    assert "draft order skipped" in "\n".join(r.getMessage() for r in caplog.records)


def test_a_body_with_a_byte_order_mark_is_read(client: FlaskClient) -> None:
    body = b"\xef\xbb\xbf" + json.dumps(scenario_request("12-red-flag-bleeding")).encode()
    response = client.post(PV, data=body, content_type="application/json")
    assert [c["indicator"] for c in response.get_json()["cards"]] == ["warning"]


@pytest.mark.parametrize(
    "reference",
    ["Patient/pB", "https://ehr.example.org/fhir/Patient/pB", "Patient/pB/_history/3"],
)
def test_another_patients_record_is_never_read(
    client: FlaskClient, caplog: pytest.LogCaptureFixture, reference: str
) -> None:
    # A bleeding lesion in pB's note gives pA no card, and the log says why.
    caplog.set_level(logging.INFO)
    request = scenario_request("12-red-flag-bleeding")
    observation = request["prefetch"]["skinObservations"]["entry"][0]["resource"]
    observation["subject"] = {"reference": reference}
    assert client.post(PV, json=request).get_json()["cards"] == []
    assert "of another patient" in "\n".join(r.getMessage() for r in caplog.records)
    # The patient's own, named in full, is read.
    observation["subject"] = {
        "reference": f"https://ehr.example.org/fhir/Patient/{request['context']['patientId']}"
    }
    cards = client.post(PV, json=request).get_json()["cards"]
    assert [c["indicator"] for c in cards] == ["warning"]


def test_a_prefetched_patient_of_another_id_gives_no_age(client: FlaskClient) -> None:
    # A newborn's milia read with another patient's birth date would be weighed at the wrong age.
    request = scenario_request("76-newborn-pearly-white-milia")
    request["prefetch"]["patient"]["id"] = "someone-else"
    cards = client.post(PV, json=request).get_json()["cards"]
    assert not any("newborn" in c["summary"].lower() for c in cards)


# ----------------------------------------------------------------------------- reading limits


def with_note(text: str) -> dict[str, Any]:
    request = scenario_request("03-text-only-milia")
    observation = request["prefetch"]["skinObservations"]["entry"][0]["resource"]
    observation["valueString"] = text
    return request


def limited_client(tmp_path: Any, **limits: int) -> FlaskClient:
    return build_app(database_url=f"sqlite:///{tmp_path}/x.db", **limits).test_client()


EXAM = "Full skin exam. Scalp clear. Trunk: several seborrhoeic keratoses, unchanged. "


def test_a_note_over_the_limit_is_read_in_part_and_the_card_says_so(tmp_path: Any) -> None:
    client = limited_client(tmp_path, text_max_chars_per_note=2000)
    # The red flag is in the part read; the rest of the note is not read, and the card says so.
    note = "Milium on the L cheek that bleeds when touched. " + EXAM * 100
    cards = client.post(PV, json=with_note(note)).get_json()["cards"]
    assert [c["indicator"] for c in cards] == ["warning"]
    assert "**Not read in full:** 1 note (too long)" in cards[0]["detail"]


def test_repeated_words_and_the_time_budget_keep_a_call_bounded(tmp_path: Any) -> None:
    client = limited_client(tmp_path, text_cpu_budget_ms=50, text_max_chars_per_note=200_000)
    pathological = "Milia on the nose. " + "no " * 60_000
    response = client.post(PV, json=with_note(pathological))
    assert response.status_code == 200
    long_note = "Milia on the nose. " + EXAM * 2000
    cards = client.post(PV, json=with_note(long_note)).get_json()["cards"]
    assert cards and "**Not read in full:**" in cards[0]["detail"]


def test_thousands_of_notes_naming_milia_are_validated_within_the_budget(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # 60,000 notes naming milia took 16 s of one worker (four such calls held /readyz 21 s):
    # validating what is kept now has the reading's budget, and the card says what was left.
    caplog.set_level(logging.INFO)
    client = limited_client(tmp_path, text_cpu_budget_ms=50)
    request = with_note("Milium on the L cheek that bleeds when touched.")
    notes = request["prefetch"]["skinObservations"]["entry"]
    template = notes[0]["resource"]
    for n in range(4000):
        notes.append({"resource": {**template, "id": f"many-{n}", "valueString": f"milia {n}"}})
    cards = client.post(PV, json=request).get_json()["cards"]
    assert cards and "**Not read in full:**" in cards[0]["detail"]
    assert "left unread: the call's validation budget ran out" in "\n".join(
        r.getMessage() for r in caplog.records
    )
