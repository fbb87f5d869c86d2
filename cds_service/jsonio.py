"""JSON in and out, shared by the HTTP API and the CLI so both give byte-identical bodies."""

from __future__ import annotations

from typing import Any

import orjson

from .errors import InvalidRequest

#: RFC 8259 section 8.1: a parser may ignore a byte order mark; some Windows tools write one.
BOM = b"\xef\xbb\xbf"


def without_bom(body: bytes) -> bytes:
    return body[3:] if body[:3] == BOM else body


def decode(body: bytes | memoryview) -> Any:
    # orjson: about twice as fast as the standard library on large prefetch bodies.
    if isinstance(body, bytes):
        body = without_bom(body)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "utf-8" in exc.msg.lower():
            raise InvalidRequest("the request body is not UTF-8 text") from None
        raise InvalidRequest(
            f"the request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def encode(value: Any) -> bytes:
    return orjson.dumps(value)
