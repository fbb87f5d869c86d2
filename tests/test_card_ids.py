"""Card and suggestion ids (cds_service.card_ids): the same patient, card kind and content version
always give the same uuid, and anything that should tell two cards apart (the secret, the EHR's
issuer and tenant, the content version, the card) gives another."""

from __future__ import annotations

import uuid

from cds_service.card_ids import CardIdentity

SECRET = b"test-secret"
VERSION = "2026.11.1"
ISSUER = "https://ehr.example.org"


def test_same_patient_kind_and_version_keep_their_ids_across_instances() -> None:
    first = CardIdentity(SECRET, VERSION).for_patient(ISSUER, "t1", "p1")
    again = CardIdentity(SECRET, VERSION).for_patient(ISSUER, "t1", "p1")
    assert first.patient_key == again.patient_key
    assert first.card("milia") == again.card("milia")
    assert first.card("milia") != first.card("red-flag")


def test_the_patient_key_is_a_keyed_hash_that_depends_on_the_secret() -> None:
    ids = CardIdentity(SECRET, VERSION).for_patient(ISSUER, "t1", "p1")
    other = CardIdentity(b"another-secret", VERSION).for_patient(ISSUER, "t1", "p1")
    assert len(ids.patient_key) == 64
    int(ids.patient_key, 16)  # hex, and the patient id is not in it
    assert "p1" not in ids.patient_key
    assert other.patient_key != ids.patient_key
    assert other.card("milia") != ids.card("milia")


def test_the_same_patient_id_in_another_ehr_or_tenant_is_another_patient() -> None:
    identity = CardIdentity(SECRET, VERSION)
    keys = {
        identity.for_patient(ISSUER, "t1", "p1").patient_key,
        identity.for_patient(ISSUER, "t2", "p1").patient_key,
        identity.for_patient(ISSUER, None, "p1").patient_key,
        identity.for_patient("https://other.example.org", "t1", "p1").patient_key,
        identity.for_patient(None, None, "p1").patient_key,
        identity.for_patient(ISSUER, "t1", "p2").patient_key,
    }
    assert len(keys) == 6


def test_a_new_content_version_gives_new_card_ids_for_the_same_patient_key() -> None:
    old = CardIdentity(SECRET, VERSION).for_patient(ISSUER, "t1", "p1")
    new = CardIdentity(SECRET, "2027.01.1").for_patient(ISSUER, "t1", "p1")
    assert old.patient_key == new.patient_key
    assert old.card("milia") != new.card("milia")


def test_suggestion_ids_are_stable_and_differ_per_card_and_per_suggestion() -> None:
    ids = CardIdentity(SECRET, VERSION).for_patient(ISSUER, "t1", "p1")
    milia, red_flag = ids.card("milia"), ids.card("red-flag")
    assert ids.suggestion(milia, "refer") == ids.suggestion(milia, "refer")
    suggestions = {
        ids.suggestion(milia, "refer"),
        ids.suggestion(milia, "handout"),
        ids.suggestion(red_flag, "refer"),
    }
    assert len(suggestions) == 3
    assert not suggestions & {milia, red_flag}


def test_ids_are_canonical_version_4_uuids() -> None:
    ids = CardIdentity(SECRET, VERSION).for_patient(None, None, "p1")
    card = ids.card("milia")
    for value in (card, ids.suggestion(card, "refer")):
        parsed = uuid.UUID(value)
        assert str(parsed) == value
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
