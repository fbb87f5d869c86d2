"""Stable identifiers, derived in one place: the keyed hash of a patient (who is never stored in
clear) and the uuids of that patient's cards and suggestions.

A card's uuid depends on the patient, the card kind and the content version, so the same advice
keeps the same id across calls, instances and restarts (with the same ``CDS_SECRET_KEY``), and
feedback on it maps back to them. Patient ids are unique per EHR only, so the issuer and tenant are
part of the patient's key.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid


def _digest(secret: bytes, *parts: str) -> bytes:
    return hmac.new(secret, "\x1f".join(parts).encode(), hashlib.sha256).digest()


class CardIds:
    """The uuids of one patient's cards and their suggestions."""

    def __init__(self, secret: bytes, patient_key: str, content_version: str) -> None:
        self._secret = secret
        #: The patient's keyed hash: what the store knows of the patient.
        self.patient_key = patient_key
        self._version = content_version

    def _uuid(self, *parts: str) -> str:
        return str(uuid.UUID(bytes=_digest(self._secret, *parts)[:16], version=4))

    def card(self, kind: str) -> str:
        return self._uuid("card", self.patient_key, kind, self._version)

    def suggestion(self, card_uuid: str, suggestion_id: str) -> str:
        return self._uuid("suggestion", card_uuid, suggestion_id)


class CardIdentity:
    """The service's secret and content version: makes each patient's :class:`CardIds`."""

    def __init__(self, secret: bytes, content_version: str) -> None:
        self._secret = secret
        self._version = content_version

    def for_patient(self, issuer: str | None, tenant: str | None, patient_id: str) -> CardIds:
        key = _digest(self._secret, "patient", issuer or "-", tenant or "-", patient_id).hex()
        return CardIds(self._secret, key, self._version)
