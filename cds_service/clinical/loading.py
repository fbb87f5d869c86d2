"""Loading the knowledge base: read each YAML file of ``cards/``, merge, validate against the schema
(:mod:`.knowledge`), then check the rules that span records (:mod:`.content_rules`). Every problem
is reported as ``file:line: message``; the service refuses to start on any.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import ContentError
from ..memory import Memory
from .content_rules import semantic_problems
from .knowledge import CONTENT_FILES, KnowledgeBase
from .yamlfile import Location, YamlDocument, YamlError, load


def _merge(docs: dict[str, YamlDocument]) -> tuple[dict[str, Any], dict[str, YamlDocument]]:
    merged: dict[str, Any] = {}
    by_key: dict[str, YamlDocument] = {}
    for doc in docs.values():
        if not isinstance(doc.data, dict):
            raise YamlError(doc.path, 1, "the file must hold a mapping of top-level keys")
        for key, value in doc.data.items():
            if key in merged:
                raise YamlError(doc.path, doc.line_of((str(key),)), f"'{key}' is defined twice")
            merged[key] = value
            by_key[str(key)] = doc
    return merged, by_key


def where(by_key: dict[str, YamlDocument], location: Location) -> str:
    """``file:line`` of a location in the merged content."""
    doc = by_key.get(str(location[0])) if location else None
    if doc is None:
        return "cards"
    return f"{doc.path}:{doc.line_of(location)}"


def _schema_problem(by_key: dict[str, YamlDocument], error: Any) -> str:
    location: Location = tuple(error["loc"])
    path = ".".join(str(p) for p in location)
    message = error["msg"].removeprefix("Value error, ")
    return f"{where(by_key, location)}: {path}: {message}"


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
    problems = [f"{where(by_key, loc)}: {message}" for loc, message in semantic_problems(kb)]
    return (None if problems else kb), problems


#: Knowledge bases this process has checked, by the bytes of their files. A process that builds
#: several apps from one content (the test suite, the CLI's commands) checks it once; a changed
#: file is different bytes, so it is checked again. The content is frozen once loaded.
_CHECKED: Memory[str, KnowledgeBase] = Memory(8)


def _fingerprint(directory: Path) -> str | None:
    digest = hashlib.sha256()
    for name in CONTENT_FILES:
        try:
            data = (directory / name).read_bytes()
        except OSError:
            return None  # validate_content names the problem
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def load_knowledge(directory: Path) -> KnowledgeBase:
    """The validated knowledge base, or :class:`ContentError` listing every problem."""
    key = _fingerprint(directory)
    checked = _CHECKED.get(key) if key is not None else None
    if checked is not None:
        return checked
    kb, problems = validate_content(directory)
    if kb is None:
        raise ContentError(problems)
    if key is not None:
        _CHECKED.put(key, kb)
    return kb


def default_content_dir() -> Path:
    """The content shipped in the wheel, else the ``cards/`` folder of a source checkout."""
    packaged = Path(__file__).resolve().parent.parent / "_content"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "cards"
