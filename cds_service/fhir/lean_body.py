"""A hook call's body, decoded with its prefetched Bundles' resources handed to a screen unparsed.

On a heavy chart most of the body is resources that cannot concern milia (vital signs, visits'
exam findings), and building them as Python objects, then freeing them, was about half of a
worker's time (issue 17, bench/README.md). msgspec splits the body in C and leaves each Bundle
entry's resource as its raw bytes (:class:`msgspec.Raw`); the screen (the relevance filter's call,
:class:`~cds_service.clinical.selection.CallFilter`) parses the ones it does not already know to be
irrelevant. A Bundle that comes back byte for byte has only the entries it kept last time looked
at (:meth:`Screen.positions`).

The result is the dict the full parse gives, with Bundle entries holding only their resource
(nothing reads the rest), and without the entries whose resource the screen knows cannot matter
(:data:`NOT_RELEVANT`: the relevance filter would drop them, unread, further on), so everything
after it (validation, error messages, the relevance filter) is unchanged. Anything the lean
shapes below do not cover exactly (an unknown field, a null where an object is expected, a body
that is not JSON) is decoded by the full parse, :func:`cds_service.jsonio.decode`, which names
the problem as before: the lean path is only ever a faster way to the same answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import msgspec
from msgspec import UNSET, UnsetType

from .. import jsonio

#: What a screen answers for a resource known not to matter: its entry is left out.
NOT_RELEVANT: Any = object()


class Screen(Protocol):
    def parse(self, raw: msgspec.Raw) -> Any:
        """A prefetched resource from its raw JSON, or :data:`NOT_RELEVANT` for one known not to
        matter. A ValueError for JSON it cannot parse."""
        ...

    def positions(self, bundle: msgspec.Raw, count: int) -> Sequence[int]:
        """Where the entries worth looking at are, of the ``count`` of a Bundle from its raw
        JSON: all of them, or those left when the same Bundle was seen before."""
        ...

    def remember(self, bundle: msgspec.Raw, count: int, kept: Sequence[int]) -> None:
        """Where the entries that were not left out of the Bundle are (fewer than it was
        given)."""
        ...


class _Body(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """The fields of a CDS Hooks request (protocol.HookRequest); others take the full parse."""

    hook: Any = UNSET
    hookInstance: Any = UNSET
    fhirServer: Any = UNSET
    fhirAuthorization: Any = UNSET
    context: Any = UNSET
    prefetch: dict[str, msgspec.Raw] | UnsetType = UNSET
    extension: Any = UNSET


class _Entry(msgspec.Struct, gc=False):
    """A Bundle entry's resource: nothing reads its other fields (fullUrl, search), which are
    left out, unparsed."""

    resource: msgspec.Raw | UnsetType = UNSET


class _Bundle(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """Bundle's fields in FHIR R4."""

    resourceType: str
    entry: list[_Entry] | UnsetType | None = UNSET
    id: Any = UNSET
    meta: Any = UNSET
    implicitRules: Any = UNSET
    language: Any = UNSET
    identifier: Any = UNSET
    type: Any = UNSET
    timestamp: Any = UNSET
    total: Any = UNSET
    link: Any = UNSET
    signature: Any = UNSET


_BODY = msgspec.json.Decoder(_Body)
_BUNDLE = msgspec.json.Decoder(_Bundle)


def decode(data: bytes, screen: Screen | None) -> Any:
    """The body as :func:`jsonio.decode` gives it, each prefetched Bundle's resources parsed by
    ``screen``."""
    if screen is None or not _is_utf8(data):
        return jsonio.decode(data)
    try:
        body = _BODY.decode(data)
        decoded = _fields(body)
        if body.prefetch is not UNSET:
            decoded["prefetch"] = {key: _value(raw, screen) for key, raw in body.prefetch.items()}
    except (msgspec.DecodeError, ValueError, RecursionError):
        # Not JSON, or not the shape above; a number orjson refuses (1e400), nesting deeper
        # than msgspec goes: the full parse says what is wrong, and where in the body.
        return jsonio.decode(data)
    return decoded


def _is_utf8(data: bytes) -> bool:
    """msgspec does not check the text of the strings it leaves raw; orjson rejects what is not
    UTF-8, with its own message."""
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _value(raw: msgspec.Raw, screen: Screen) -> Any:
    try:
        bundle = _BUNDLE.decode(raw)
    except msgspec.DecodeError:  # a single resource (a Patient), null, or an unusual Bundle
        return jsonio.decode(memoryview(raw))
    if bundle.resourceType != "Bundle":
        return jsonio.decode(memoryview(raw))
    decoded = _fields(bundle)
    if isinstance(bundle.entry, list):
        given = bundle.entry
        positions = screen.positions(raw, len(given))
        kept: list[int] = []
        entries: list[dict[str, Any]] = []
        for position in positions:
            resource = given[position].resource
            if resource is UNSET:
                entries.append({})
            elif (resource := screen.parse(resource)) is not NOT_RELEVANT:
                entries.append({"resource": resource})
            else:
                continue
            kept.append(position)
        if len(kept) < len(positions):
            screen.remember(raw, len(given), kept)
        decoded["entry"] = entries
    return decoded


def _fields(struct: msgspec.Struct) -> dict[str, Any]:
    """The fields the JSON object had, in the Struct's order (the order of keys matters to no
    reader of a hook body)."""
    return {
        name: value
        for name in struct.__struct_fields__
        if (value := getattr(struct, name)) is not UNSET
    }
