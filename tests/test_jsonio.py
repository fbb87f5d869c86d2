"""JSON in and out (cds_service.jsonio): bodies round-trip, and a body that is not JSON, not UTF-8,
or nested beyond the parser's depth limit is the service's InvalidRequest (a 400) with a message
saying what is wrong and where."""

from __future__ import annotations

from typing import Any

import pytest

from cds_service import jsonio
from cds_service.errors import InvalidRequest


def test_decode_and_encode_round_trip() -> None:
    value: dict[str, Any] = {
        "hook": "patient-view",
        "context": {"userId": "Practitioner/1", "patientId": "p1"},
        "numbers": [0, -1, 2.5, 12345678901234],
        "flags": [True, False, None],
        "text": "kératose, 粟粒疹",
    }
    body = jsonio.encode(value)
    assert isinstance(body, bytes)
    assert jsonio.decode(body) == value
    assert jsonio.encode(jsonio.decode(body)) == body


def test_encode_is_compact_utf8_in_key_order() -> None:
    assert jsonio.encode({"b": 1, "a": ["é"]}) == '{"b":1,"a":["é"]}'.encode()


def test_invalid_json_is_an_invalid_request_naming_line_and_column() -> None:
    with pytest.raises(InvalidRequest) as raised:
        # A missing comma: the message points at the key after it.
        jsonio.decode(b'{\n  "hook": "patient-view"\n  "context": {}\n}')
    error = raised.value
    assert error.status == 400
    assert error.message.startswith("the request body is not valid JSON: ")
    assert error.message.endswith(" at line 3 column 3")


@pytest.mark.parametrize("body", [b"", b"NaN", b"[1,]", b'{"a":', b"{'a': 1}"])
def test_bodies_that_are_not_json_are_rejected(body: bytes) -> None:
    with pytest.raises(InvalidRequest, match=r"^the request body is not valid JSON: .+ at line 1"):
        jsonio.decode(body)


def test_a_body_that_is_not_utf8_says_so() -> None:
    with pytest.raises(InvalidRequest) as raised:
        jsonio.decode(b'{"text": "caf\xe9"}')
    assert raised.value.message == "the request body is not UTF-8 text"


def test_nesting_beyond_the_depth_limit_is_rejected_not_a_crash() -> None:
    assert jsonio.decode(b"[" * 500 + b"]" * 500) is not None
    with pytest.raises(InvalidRequest, match=r"^the request body is not valid JSON: "):
        jsonio.decode(b"[" * 5000 + b"]" * 5000)


def test_a_byte_order_mark_is_ignored() -> None:
    # RFC 8259 section 8.1; Windows tools write one. It was answered "not UTF-8 text".
    assert jsonio.decode(b'\xef\xbb\xbf{"hook": "patient-view"}') == {"hook": "patient-view"}
