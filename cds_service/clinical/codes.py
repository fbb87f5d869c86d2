"""Code systems the knowledge base may use, with the shape of a well-formed code in each."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


def _verhoeff_ok(digits: str) -> bool:
    # SNOMED CT identifiers end in a Verhoeff check digit: a typo in an SCTID is caught here.
    d = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ]
    p = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ]
    check = 0
    for i, ch in enumerate(reversed(digits)):
        check = d[check][p[i % 8][int(ch)]]
    return check == 0


def _loinc_ok(code: str) -> bool:
    # LOINC codes end in a mod-10 check digit after the hyphen; answer codes (LA...) follow
    # another scheme, so only their form is checked.
    if code.startswith("LA"):
        return True
    body, _, check = code.partition("-")
    total = 0
    for i, ch in enumerate(reversed(body)):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n // 10 + n % 10
    return (10 - total % 10) % 10 == int(check)


@dataclass(frozen=True)
class CodeSystem:
    name: str
    uri: str
    pattern: re.Pattern[str]
    check: Callable[[str], bool] | None = None

    def problem(self, code: str) -> str | None:
        if not self.pattern.fullmatch(code):
            return f"'{code}' is not a well-formed {self.name} code"
        if self.check is not None and not self.check(code):
            return f"'{code}' fails the {self.name} check digit"
        return None


SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD11 = "http://id.who.int/icd/release/11/mms"
ATC = "http://www.whocc.no/atc"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
EDQM = "http://standardterms.edqm.eu"

CODE_SYSTEMS: dict[str, CodeSystem] = {
    s.uri: s
    for s in (
        CodeSystem("SNOMED CT", SNOMED, re.compile(r"[1-9]\d{5,17}"), _verhoeff_ok),
        CodeSystem("ICD-10-CM", ICD10CM, re.compile(r"[A-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?")),
        CodeSystem(
            "ICD-11 MMS",
            ICD11,
            re.compile(r"([0-9A-Z]{4}(\.[0-9A-Z]{1,2})?|X[A-Z0-9]{5})"),
        ),
        CodeSystem("ATC", ATC, re.compile(r"[A-Z](\d{2}([A-Z]([A-Z](\d{2})?)?)?)?")),
        CodeSystem("RxNorm", RXNORM, re.compile(r"\d{1,9}")),
        CodeSystem("LOINC", LOINC, re.compile(r"(LA)?\d{1,7}-\d"), _loinc_ok),
        CodeSystem("EDQM Standard Terms", EDQM, re.compile(r"\d{8}")),
    )
}
