"""A hook body decoded lean (cds_service.fhir.lean_body) is the body the full parse gives, each
prefetched Bundle's resources parsed by the screen: the same values, the same errors for bodies
that are not JSON or not UTF-8, and whatever its shapes do not cover decoded in full. A resource the
relevance filter dropped before, byte for byte, comes back as a stand-in every filter drops; a call
twice over answers the same."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from typing import Any

import msgspec
import orjson
import pytest
from flask.testing import FlaskClient

from cds_service import jsonio
from cds_service.clinical import fields
from cds_service.clinical.loading import default_content_dir, load_knowledge
from cds_service.clinical.selection import RelevanceFilter
from cds_service.clinical.text import text_reader
from cds_service.clinical.vocabulary import Vocabulary
from cds_service.errors import InvalidRequest
from cds_service.fhir import lean_body
from tests.conftest import SCENARIOS, scenario_request, searchset
from tests.test_scenarios import SERVICES
from tests.test_selection import _corpus_words, _put

KB = load_knowledge(default_content_dir())
VOCABULARY = Vocabulary(KB)
READER = text_reader(KB, frozenset(VOCABULARY.phrases()))


class _Parses:
    """A screen that parses every resource (and counts them)."""

    def __init__(self) -> None:
        self.parsed = 0

    def parse(self, raw: msgspec.Raw) -> Any:
        self.parsed += 1
        return orjson.loads(memoryview(raw))

    def positions(self, bundle: msgspec.Raw, count: int) -> range:
        return range(count)

    def remember(self, bundle: msgspec.Raw, count: int, kept: Sequence[int]) -> None:
        raise AssertionError("a screen that leaves nothing out has nothing to remember")


def _read(body: Any) -> Any:
    """A decoded body as the service reads it: of a Bundle's entries, their resources (the lean
    decode leaves out the rest; a Bundle it does not cover keeps them)."""
    prefetch = body.get("prefetch") if isinstance(body, dict) else None
    for value in prefetch.values() if isinstance(prefetch, dict) else ():
        entries = value.get("entry") if isinstance(value, dict) else None
        if isinstance(entries, list) and all(isinstance(e, dict) for e in entries):
            value["entry"] = [
                {"resource": e["resource"]} if "resource" in e else {} for e in value["entry"]
            ]
    return body


VITAL: dict[str, Any] = {
    "resourceType": "Observation",
    "id": "hr-1",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
    "valueQuantity": {"value": 72, "unit": "/min"},
}
NOTE = {
    "resourceType": "Observation",
    "id": "skin-1",
    "status": "final",
    "code": {"text": "Skin exam"},
    "valueString": "Pearly papule on the nose with rolled edges, bleeds easily.",
}


def _body(*resources: dict[str, Any]) -> bytes:
    request = scenario_request(SCENARIOS[0])
    request["prefetch"] = {**(request.get("prefetch") or {}), "observations": searchset(*resources)}
    return orjson.dumps(request)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_decodes_as_the_full_parse_does(scenario: str) -> None:
    body = orjson.dumps(scenario_request(scenario))
    screen = _Parses()
    assert _read(lean_body.decode(body, screen)) == _read(jsonio.decode(body))
    resources = sum(
        len(v.get("entry") or ())
        for v in (scenario_request(scenario).get("prefetch") or {}).values()
        if isinstance(v, dict) and v.get("resourceType") == "Bundle"
    )
    assert screen.parsed == resources


@pytest.mark.parametrize(
    "body",
    [
        # fields the lean shapes do not name: the full parse keeps them
        {"hook": "patient-view", "x-vendor": {"a": 1}, "prefetch": {}},
        {"hook": "patient-view", "prefetch": None},
        {"prefetch": {"b": {"resourceType": "Bundle", "entry": [], "x-vendor": 1}}},
        # a read (a Patient), null, a Bundle with no entries, an entry without a resource
        {"prefetch": {"patient": {"resourceType": "Patient", "id": "p"}, "none": None}},
        {"prefetch": {"b": {"resourceType": "Bundle", "type": "searchset", "total": 0}}},
        {"prefetch": {"b": {"resourceType": "Bundle", "entry": [{"fullUrl": "urn:x"}]}}},
        {"prefetch": {"b": {"resourceType": "Bundle", "entry": None}}},
        {"prefetch": {"b": {"resourceType": "Bundle", "entry": [1, "two"]}}},
        {"prefetch": {"b": {"resourceType": "Bundle", "entry": {"resource": {}}}}},
        {"prefetch": "not an object"},
        ["not", "an", "object"],
    ],
)
def test_what_the_lean_shapes_do_not_cover_is_decoded_in_full(body: Any) -> None:
    data = orjson.dumps(body)
    assert _read(lean_body.decode(data, _Parses())) == _read(jsonio.decode(data))


@pytest.mark.parametrize(
    "data",
    [
        b'{"prefetch": {"b": {"resourceType": "Bundle", "entry": [{"resource": {"a": "\xff"}}]}}}',
        b'{"prefetch": {"b": {"resourceType": "Bundle", "entry": [{"resource": {"a": 01}}]}}}',
        b'{"prefetch": {"b": {"resourceType": "Bundle", "entry": [{"resource": {"a": "\\q"}}]}}}',
        b'{"hook": "patient-view"} trailing',
        b"",
        # what msgspec leaves raw and orjson refuses: a number beyond a double, deep nesting
        b'{"prefetch": {"b": {"resourceType": "Bundle", "entry": [{"resource": {"a": 1e400}}]}}}',
        b'{"prefetch": {"b": {"resourceType": "Bundle", "entry": [{"resource": {"a": '
        + b"[" * 1100
        + b"]" * 1100
        + b"}}]}}}",
        b'{"prefetch": {"b": {"resourceType": "Bundle", "entry": ' + b"[" * 1100 + b"]" * 1100,
    ],
)
def test_a_body_that_is_not_json_or_not_utf8_gets_the_full_parses_message(data: bytes) -> None:
    # msgspec leaves a raw resource's strings unchecked: invalid UTF-8 inside one must still be
    # refused, with the same message as any other.
    with pytest.raises(InvalidRequest) as full:
        jsonio.decode(data)
    with pytest.raises(InvalidRequest) as lean:
        lean_body.decode(data, _Parses())
    assert lean.value.message == full.value.message


def test_without_a_screen_the_body_is_the_full_parse() -> None:
    body = _body(VITAL, NOTE)
    assert lean_body.decode(body, None) == jsonio.decode(body)


def _resources(body: Any) -> list[Any]:
    return [e["resource"] for e in body["prefetch"]["observations"]["entry"]]


def test_a_resource_dropped_before_byte_for_byte_is_not_parsed_again() -> None:
    keep = RelevanceFilter(VOCABULARY, READER)
    data = _body(VITAL, NOTE)
    first = keep.for_call()
    vital, note = _resources(lean_body.decode(data, first))
    assert not first(vital) and first(note)
    second = keep.for_call()
    # The vital sign's entry is left out; the note was kept: it is parsed, and kept, every time.
    (note,) = _resources(lean_body.decode(data, second))
    assert note == NOTE and second(note)


def _one_call(keep: RelevanceFilter, resource: dict[str, Any]) -> tuple[Any, bool]:
    """A call of one resource: what the screen gave for it (None: its entry was left out), and
    whether the call's filter keeps it."""
    call = keep.for_call()
    given = _resources(lean_body.decode(_body(resource), call))
    return (given[0], call(given[0])) if given else (None, False)


def test_a_resource_that_differs_where_the_decision_reads_is_parsed_and_decided_again() -> None:
    keep = RelevanceFilter(VOCABULARY, READER)
    assert _one_call(keep, VITAL) == (VITAL, False)
    worded = {**VITAL, "note": [{"text": "Pearly papule on the nose, bleeds easily."}]}
    assert _one_call(keep, worded) == (worded, True)
    coded = {
        **VITAL,
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "254679001"}]},
    }
    assert _one_call(keep, coded) == (coded, True)
    # A quantity counts by its presence alone: the same words with one measure a lesion.
    unmeasured = {"resourceType": "Observation", "id": "d1", "code": {"text": "Lesion diameter"}}
    assert _one_call(keep, unmeasured) == (unmeasured, False)
    measured = {**unmeasured, "id": "d2", "valueQuantity": {"value": 4, "unit": "mm"}}
    assert _one_call(keep, measured) == (measured, True)


def test_a_resource_like_one_dropped_but_where_the_decision_does_not_read_is_not_parsed() -> None:
    # The next heart rate: another value, time and id, the same code.
    keep = RelevanceFilter(VOCABULARY, READER)
    assert _one_call(keep, VITAL) == (VITAL, False)
    later = {
        **VITAL,
        "id": "hr-2",
        "effectiveDateTime": "2026-11-20T10:00:00Z",
        "valueQuantity": {"value": 91, "unit": "/min"},
    }
    assert _one_call(keep, later) == (None, False)
    # A field the decision reads, written otherwise (another order of keys), is only parsed.
    coding = VITAL["code"]["coding"][0]
    reordered = {**later, "code": {"coding": [dict(reversed(list(coding.items())))]}}
    assert _one_call(keep, reordered) == (reordered, False)


def test_a_hit_on_the_hash_alone_is_not_taken_for_the_resource() -> None:
    # The memory's key is a 64-bit hash; a hit must match the length too, else it is parsed.
    keep = RelevanceFilter(VOCABULARY, READER)
    raw = msgspec.Raw(orjson.dumps(NOTE))
    keep._dropped.put(hash(bytes(raw)), ("Observation", len(raw) + 1))  # another resource's
    assert keep.for_call().parse(raw) == NOTE


def test_an_operation_outcome_is_never_screened() -> None:
    # Its error is what makes a Bundle unusable (prefetch.read_value): it is always parsed.
    keep = RelevanceFilter(VOCABULARY, READER)
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error"}]}
    for _ in range(2):
        call = keep.for_call()
        resource = call.parse(msgspec.Raw(orjson.dumps(outcome)))
        assert resource == outcome
        assert not call(resource)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_call_made_again_answers_the_same(client: FlaskClient, scenario: str) -> None:
    # The second call finds what the first dropped already screened, entry by entry; the third
    # finds its Bundles remembered whole: the cards must not change.
    request = scenario_request(scenario)
    service = SERVICES[request["hook"]]
    answers = [client.post(f"/cds-services/{service}", json=request).get_json() for _ in range(3)]
    assert answers[0] == answers[1] == answers[2]


def _looked_at(
    keep: RelevanceFilter, data: bytes, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[Any], list[Any]]:
    """A call of ``data``: the Observations its body gave, and those the screen looked at (the
    scenario's other keys hold none)."""
    call = keep.for_call()
    seen: list[Any] = []
    parse = call.parse

    def looking(raw: msgspec.Raw) -> Any:
        seen.append(orjson.loads(bytes(raw)))
        return parse(raw)

    monkeypatch.setattr(call, "parse", looking)
    given = _resources(lean_body.decode(data, call))
    for resource in given:
        call(resource)
    return given, [r for r in seen if r.get("resourceType") == "Observation"]


def test_a_bundle_seen_before_byte_for_byte_is_screened_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keep = RelevanceFilter(VOCABULARY, READER)
    data = _body(VITAL, NOTE)
    # The first call decides the vital sign; the second screens it by its bytes.
    assert _looked_at(keep, data, monkeypatch) == ([VITAL, NOTE], [VITAL, NOTE])
    assert _looked_at(keep, data, monkeypatch) == ([NOTE], [VITAL, NOTE])
    # The third does not look at it at all: the Bundle is the same.
    assert _looked_at(keep, data, monkeypatch) == ([NOTE], [NOTE])
    # A Bundle with one more resource is another: each entry is looked at again.
    later = {**VITAL, "id": "hr-2", "valueQuantity": {"value": 91, "unit": "/min"}}
    assert _looked_at(keep, _body(VITAL, NOTE, later), monkeypatch) == (
        [NOTE],
        [VITAL, NOTE, later],
    )


def test_a_bundle_hit_on_the_hash_alone_is_not_taken_for_the_bundle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keep = RelevanceFilter(VOCABULARY, READER)
    bundle = orjson.dumps(searchset(VITAL, NOTE))
    # Another Bundle's: a longer one, of as many entries, whose vital sign was left out.
    keep._bundles.put(hash(bundle), (len(bundle) + 1, 2, (1,)))
    assert _looked_at(keep, _body(VITAL, NOTE), monkeypatch) == ([VITAL, NOTE], [VITAL, NOTE])


@pytest.mark.parametrize("value", [b"1e400", b"[" * 1100 + b"]" * 1100])
def test_a_resource_orjson_refuses_is_a_400_naming_the_problem(
    client: FlaskClient, value: bytes
) -> None:
    # A second call, as the first may have remembered the other resources as dropped.
    request = scenario_request(SCENARIOS[0])
    service = SERVICES[request["hook"]]
    client.post(f"/cds-services/{service}", json=request)
    body = orjson.dumps(request).replace(
        b'"prefetch":{',
        b'"prefetch":{"x":{"resourceType":"Bundle","entry":[{"resource":{"a":' + value + b"}}]},",
        1,
    )
    answer = client.post(f"/cds-services/{service}", data=body, content_type="application/json")
    assert answer.status_code == 400
    assert answer.get_json()["issue"][0]["diagnostics"].startswith(
        "the request body is not valid JSON: "
    )


def test_mutated_bodies_decode_as_the_full_parse_does() -> None:
    """Differential: scenario bodies with bytes deleted, inserted, replaced or repeated (broken
    JSON, odd numbers, keys misspelt, invalid UTF-8) give the full parse's body or its error."""
    rng = random.Random(7)
    bodies = [orjson.dumps(scenario_request(s)) for s in SCENARIOS]
    alphabet = b'{}[],:"\\01e-.ntfu\xff\xc3 aZ'
    outcomes: Counter[str] = Counter()
    for _ in range(2000):
        data = bytearray(rng.choice(bodies))
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(data))
            how = rng.random()
            if how < 0.3:
                del data[at]
            elif how < 0.6:
                data.insert(at, rng.choice(alphabet))
            elif how < 0.8:
                data[at] = rng.choice(alphabet)
            else:
                data[at:at] = data[at : at + rng.randint(1, 40)]
        try:
            full: Any = _read(jsonio.decode(bytes(data)))
        except InvalidRequest as exc:
            full = exc.message
        try:
            lean: Any = _read(lean_body.decode(bytes(data), _Parses()))
        except InvalidRequest as exc:
            lean = exc.message
        assert lean == full, bytes(data)
        outcomes[type(full).__name__] += 1
    assert outcomes["str"] > 200 and outcomes["dict"] > 200  # both errors and bodies were seen


def test_a_resource_screened_by_its_shape_is_one_a_fresh_filter_drops() -> None:
    """Resources of the corpus's words in every field the reader reads, some with a quantity,
    then each again with another id, time and value: every one screened without being parsed is
    one a filter that never saw it drops."""
    words = _corpus_words()
    rng = random.Random(17)
    resources = []
    for _ in range(400):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 4)))
        kind = rng.choice(sorted(fields.TEXT_PATHS))
        resource = _put(kind, rng.choice(fields.TEXT_PATHS[kind]), text)
        if kind == "Observation" and rng.random() < 0.5:
            resource["valueQuantity"] = {"value": 4, "unit": "mm"}
        resources.append(resource)
    keep = RelevanceFilter(VOCABULARY, READER)
    for chunk in range(0, len(resources), 20):  # calls of 20, each within its reading budget
        call = keep.for_call()
        for resource in _resources(lean_body.decode(_body(*resources[chunk : chunk + 20]), call)):
            call(resource)
    later = [
        {**r, "id": f"x{n}", "effectiveDateTime": "2026-11-20"}
        | ({"valueQuantity": {"value": 7, "unit": "mm"}} if "valueQuantity" in r else {})
        for n, r in enumerate(resources)
    ]
    fresh = RelevanceFilter(VOCABULARY, READER)
    given = {r["id"] for r in _resources(lean_body.decode(_body(*later), keep.for_call()))}
    screened = [r for r in later if r["id"] not in given]
    for resource in screened:
        assert not fresh.for_call()(resource), resource
    assert len(screened) > 100
