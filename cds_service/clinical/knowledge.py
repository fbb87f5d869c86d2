"""The knowledge base: the schema of ``cards/`` and its loader.

Content is data reviewed like code. Every file is validated when the service starts and by
``cds-service check-content``; each problem is reported as ``file:line: message`` so a reviewer can fix
it without reading Python. The service refuses to start on invalid content.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from ..errors import ContentError
from .codes import CODE_SYSTEMS
from .yamlfile import Location, YamlDocument, YamlError, load

#: The files of the knowledge base; each contributes the top-level keys of :class:`KnowledgeBase`.
CONTENT_FILES = ("meta.yaml", "references.yaml", "conditions.yaml", "templates.yaml")

Id = Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
Text = Annotated[str, Field(min_length=1)]


def _code_as_text(value: Any) -> Any:
    # An unquoted SNOMED CT id is read by YAML as a number; a code is always text.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class _Content(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Code(_Content):
    system: Text
    code: Annotated[Text, BeforeValidator(_code_as_text)]
    display: Text
    #: True only when code and meaning were confirmed in a named public source (clinical.md's V).
    verified: bool
    note: str | None = None


class Topic(_Content):
    system: Text
    code: Annotated[Text, BeforeValidator(_code_as_text)]
    display: Text


class Source(_Content):
    label: Text
    url: Text | None = None
    topic: Topic


class Meta(_Content):
    content_version: Text
    review_date: date
    reviewed_by: Text
    status: Literal["draft", "reviewed", "approved"]
    source: Source


class Reference(_Content):
    id: Id
    #: The label of the card link to this reference.
    short: Annotated[str, Field(min_length=1, max_length=100)]
    citation: Text
    verification: Literal["verified", "partly-verified", "unverified"]
    doi: str | None = None
    url: str | None = None
    #: Terms for a PubMed search link, used when there is no verified DOI or URL.
    search: str | None = None
    note: str | None = None

    @property
    def link(self) -> str:
        if self.doi and self.verification == "verified":
            return f"https://doi.org/{self.doi}"
        if self.url:
            return self.url
        terms = (self.search or self.citation).replace(" ", "+")
        return f"https://pubmed.ncbi.nlm.nih.gov/?term={terms}"


class Statement(_Content):
    """One clinical sentence and the references it rests on."""

    text: Text
    cites: Annotated[list[Id], Field(min_length=1)]


class Concept(_Content):
    """A condition the service recognises: milia, a variant, a mimic."""

    id: Id
    name: Text
    codes: list[Code] = Field(default_factory=list)
    synonyms: list[Text] = Field(default_factory=list)
    about: list[Statement] = Field(default_factory=list)


class CardTemplate(_Content):
    indicator: Literal["info", "warning", "critical"]
    summary: Text
    detail: Annotated[list[Statement], Field(min_length=1)]
    #: References shown as the card's links, in order.
    links: list[Id] = Field(default_factory=list)


class KnowledgeBase(_Content):
    meta: Meta
    references: list[Reference]
    conditions: list[Concept]
    card_templates: dict[Id, CardTemplate]

    def reference(self, ref_id: str) -> Reference:
        return next(r for r in self.references if r.id == ref_id)

    def concept(self, concept_id: str) -> Concept:
        return next(c for c in self.conditions if c.id == concept_id)


# ----------------------------------------------------------------------------------- validation


def _where(docs: dict[str, YamlDocument], location: Location) -> str:
    doc = docs.get(str(location[0])) if location else None
    if doc is None:
        return "cards"
    return f"{doc.path}:{doc.line_of(location)}"


def _statements(kb: KnowledgeBase) -> Iterator[tuple[Location, Statement]]:
    for i, concept in enumerate(kb.conditions):
        for j, statement in enumerate(concept.about):
            yield ("conditions", i, "about", j), statement
    for name, template in kb.card_templates.items():
        for j, statement in enumerate(template.detail):
            yield ("card_templates", name, "detail", j), statement


def _template_fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def semantic_problems(kb: KnowledgeBase) -> Iterator[tuple[Location, str]]:
    """Rules that span records: known code systems, unique ids, no dangling references."""
    ref_ids = [r.id for r in kb.references]
    for i, ref_id in enumerate(ref_ids):
        if ref_ids.index(ref_id) != i:
            yield ("references", i, "id"), f"duplicate reference id '{ref_id}'"
    concept_ids = [c.id for c in kb.conditions]
    for i, concept in enumerate(kb.conditions):
        if concept_ids.index(concept.id) != i:
            yield ("conditions", i, "id"), f"duplicate condition id '{concept.id}'"
        for j, code in enumerate(concept.codes):
            where = ("conditions", i, "codes", j)
            system = CODE_SYSTEMS.get(code.system)
            if system is None:
                yield (*where, "system"), f"unknown code system '{code.system}'"
            elif (problem := system.problem(code.code)) is not None:
                yield (*where, "code"), problem
    for place, statement in _statements(kb):
        for k, cited in enumerate(statement.cites):
            if cited not in ref_ids:
                yield (*place, "cites", k), f"cites unknown reference '{cited}'"
    for name, template in kb.card_templates.items():
        for k, linked in enumerate(template.links):
            if linked not in ref_ids:
                yield ("card_templates", name, "links", k), f"links unknown reference '{linked}'"
        if _template_fields(template.summary):
            yield (
                ("card_templates", name, "summary"),
                "summary placeholders are not supported",
            )
        if len(template.summary) >= 140:
            yield (
                ("card_templates", name, "summary"),
                f"summary is {len(template.summary)} characters; it must stay under 140",
            )


def _merge(docs: dict[str, YamlDocument]) -> tuple[dict[str, Any], dict[str, YamlDocument]]:
    merged: dict[str, Any] = {}
    by_key: dict[str, YamlDocument] = {}
    for doc in docs.values():
        if not isinstance(doc.data, dict):
            raise YamlError(doc.path, 1, "the file must hold a mapping of top-level keys")
        for key, value in doc.data.items():
            merged[key] = value
            by_key[str(key)] = doc
    return merged, by_key


def validate_content(directory: Path) -> tuple[KnowledgeBase | None, list[str]]:
    """Load and check ``directory``; return the knowledge base (when valid) and every problem."""
    docs: dict[str, YamlDocument] = {}
    problems: list[str] = []
    for name in CONTENT_FILES:
        path = directory / name
        if not path.is_file():
            problems.append(f"{path}:1: missing content file")
            continue
        try:
            docs[name] = load(path)
        except YamlError as exc:
            problems.append(str(exc))
    if problems:
        return None, problems
    try:
        merged, by_key = _merge(docs)
    except YamlError as exc:
        return None, [str(exc)]
    try:
        kb = KnowledgeBase.model_validate(merged)
    except ValidationError as exc:
        return None, [_schema_problem(by_key, error) for error in exc.errors()]
    problems = [f"{_where(by_key, loc)}: {message}" for loc, message in semantic_problems(kb)]
    return (None if problems else kb), problems


def _schema_problem(by_key: dict[str, YamlDocument], error: Any) -> str:
    location: Location = tuple(error["loc"])
    path = ".".join(str(p) for p in location)
    message = error["msg"].removeprefix("Value error, ")
    return f"{_where(by_key, location)}: {path}: {message}"


def load_knowledge(directory: Path) -> KnowledgeBase:
    """The validated knowledge base, or :class:`ContentError` listing every problem."""
    kb, problems = validate_content(directory)
    if kb is None:
        raise ContentError(problems)
    return kb


def default_content_dir() -> Path:
    """The content shipped in the wheel, else the ``cards/`` folder of a source checkout."""
    packaged = Path(__file__).resolve().parent.parent / "_content"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "cards"


def iter_codes(concepts: Iterable[Concept]) -> Iterator[tuple[Concept, Code]]:
    for concept in concepts:
        for code in concept.codes:
            yield concept, code
