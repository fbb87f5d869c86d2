"""Code systems of the knowledge base (cds_service.clinical.codes): each system's form of a code,
and the check digits of SNOMED CT (Verhoeff) and LOINC (mod 10) that catch a mistyped code."""

from __future__ import annotations

import pytest

from cds_service.clinical.codes import (
    ATC,
    CODE_SYSTEMS,
    ICD10CM,
    ICD11,
    LOINC,
    RXNORM,
    SNOMED,
    CodeSystem,
)


def system(uri: str) -> CodeSystem:
    return CODE_SYSTEMS[uri]


@pytest.mark.parametrize("code", ["3457005", "18803008", "240977001", "254679001", "22298006"])
def test_real_snomed_ct_identifiers_pass(code: str) -> None:
    assert system(SNOMED).problem(code) is None


def test_a_mistyped_snomed_ct_identifier_fails_its_check_digit() -> None:
    snomed = system(SNOMED)
    assert snomed.problem("254679002") == "'254679002' fails the SNOMED CT check digit"
    # Two neighbouring digits swapped: the Verhoeff scheme catches transpositions too.
    assert snomed.problem("254697001") == "'254697001' fails the SNOMED CT check digit"


@pytest.mark.parametrize("code", ["12345", "0123456", "1234567890123456789", "25467900a", ""])
def test_snomed_ct_identifiers_of_the_wrong_shape_are_not_well_formed(code: str) -> None:
    assert system(SNOMED).problem(code) == f"'{code}' is not a well-formed SNOMED CT code"


def test_loinc_codes_are_checked_by_their_mod_10_digit_and_answer_codes_by_form() -> None:
    loinc = system(LOINC)
    assert loinc.problem("8480-6") is None
    assert loinc.problem("82810-3") is None
    assert loinc.problem("8480-5") == "'8480-5' fails the LOINC check digit"
    assert loinc.problem("LA15173-0") is None
    assert loinc.problem("8480") == "'8480' is not a well-formed LOINC code"


@pytest.mark.parametrize(
    ("uri", "good", "bad"),
    [
        # U codes are ICD-10-CM too (U07.1 COVID-19, U09.9 post COVID-19 condition).
        (ICD10CM, ["L72.0", "L72", "Z85.828", "U07.1", "U09.9"], ["l72.0", "L7", "L72.12345"]),
        (ICD11, ["ED91.1", "ED91", "XA8LA4"], ["ED9", "ED91.123"]),
        (ATC, ["D", "D10", "D10A", "D10AD", "D10AD01"], ["D1", "D10AD0", "d10ad01"]),
        (RXNORM, ["2670", "123456789"], ["1234567890", "RX2670"]),
    ],
)
def test_each_system_accepts_its_own_form_only(uri: str, good: list[str], bad: list[str]) -> None:
    codes = system(uri)
    for code in good:
        assert codes.problem(code) is None, code
    for code in bad:
        assert codes.problem(code) == f"'{code}' is not a well-formed {codes.name} code", code


def test_code_systems_are_keyed_by_their_uri() -> None:
    assert all(uri == codes.uri for uri, codes in CODE_SYSTEMS.items())
    assert {SNOMED, ICD10CM, ICD11, ATC, RXNORM, LOINC} <= set(CODE_SYSTEMS)
