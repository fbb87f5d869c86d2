"""Whom a note's kinship words name: the relatives who tell, and the patient named as their kin
("Tel consult w/ daughter. Mum has a white spot that is getting bigger")."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from cds_service.clinical.kinship import (
    CHILDREN,
    PARENTS,
    patient_named_as_kin,
    telling_generation,
)
from tests.test_text import reader as reader
from tests.test_text import said


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import spacy
    return spacy.blank("en")


@pytest.mark.parametrize(
    ("text", "tellers"),
    [
        ("Tel consult w/ daughter. Mum has a white spot.", {"daughter"}),
        ("History from her son; mother is well otherwise.", {"son"}),
        ("Accompanied by his daughter.", {"daughter"}),
        ("Daughter rang about dad.", {"daughter"}),
        ("Mum reports the spot has grown.", {"mum"}),
        ("Seen with mum and dad.", {"mum", "dad"}),
        # kin named, nobody telling
        ("Mum has psoriasis. Father had a BCC.", set()),
        ("Son is at university.", set()),
    ],
)
def test_the_relatives_who_tell(tokenizer: Any, text: str, tellers: set[str]) -> None:
    assert telling_generation(tokenizer(text)) == tellers


def test_the_patient_is_of_the_other_generation_than_the_tellers(tokenizer: Any) -> None:
    assert patient_named_as_kin(tokenizer("Call from son. Mum has a bump.")) == PARENTS
    assert patient_named_as_kin(tokenizer("Mum rang: son has a bump.")) == CHILDREN
    # tellers of both generations say nothing of who the patient is
    assert patient_named_as_kin(tokenizer("Seen with mum and her son.")) == frozenset()
    assert patient_named_as_kin(tokenizer("Mum has a bump.")) == frozenset()


@pytest.mark.parametrize(
    ("text", "status"),
    [
        # told by the patient's child, "mum" is the patient
        ("Tel consult w/ daughter. Mum has a white spot on her cheek that is bleeding.", "present"),
        ("Phone call from son. Mother has a white spot that bleeds, ?milium.", "present"),
        # told by a parent, "son" is the patient
        ("Mum rang: son has a white spot on his cheek that is bleeding.", "present"),
        # no teller, or a teller of the same generation: a relative's, as before
        ("Milia x2. Mum has a white spot on her cheek that is bleeding.", None),
        ("Seen with mum. Dad has a white spot on his nose that is bleeding.", None),
    ],
)
def test_a_finding_of_the_patient_named_as_kin_is_the_patients(
    reader: Any,
    text: str,
    status: str | None,
) -> None:
    assert said(reader, text).get("red-flag:bleeding-or-crusting", (None, ""))[0] == status
