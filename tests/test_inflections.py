"""The inflections table: lemminflect's answers for the content's words, so that a worker neither
loads lemminflect's tables (about 50 MB) nor waits for them at start-up, and matches exactly what
it would match with them."""

from __future__ import annotations

import json

import pytest

from cds_service.clinical import inflections
from cds_service.clinical.loading import default_content_dir, load_knowledge
from cds_service.clinical.terms import forms, noun_forms
from cds_service.clinical.text import TextReader
from cds_service.clinical.vocabulary import Vocabulary
from tests.conftest import fresh_interpreter


@pytest.mark.slow
def test_the_table_holds_lemminflects_answers_for_every_word_of_the_content() -> None:
    """Fails after an edit of cards/ that brings new words, or after a lemminflect upgrade that
    answers differently: `cds-service inflections` writes the table again."""
    kb = load_knowledge(default_content_dir())
    vocabulary = Vocabulary(kb)
    # A new reader: the process's shared one (text_reader), built by an earlier test, asks for
    # no words.
    expected = inflections.table_for(lambda: TextReader(kb, frozenset(vocabulary.phrases())))
    written = json.loads(inflections.TABLE.read_text(encoding="utf-8"))
    assert written == expected, "run `cds-service inflections` (make inflections)"
    assert len(written["all"]) > 1000 and len(written["noun"]) > 300


def test_a_word_the_table_lacks_is_inflected_by_lemminflect() -> None:
    table = json.loads(inflections.TABLE.read_text(encoding="utf-8"))
    assert "gallop" not in table["all"] and "hoof" not in table["noun"]
    assert {"gallop", "galloped", "galloping", "gallops"} <= forms("gallop")
    assert noun_forms("hoof") >= {"hoof", "hooves"} or noun_forms("hoof") >= {"hoof", "hoofs"}


def test_words_of_the_content_come_from_the_table() -> None:
    missing = inflections.missing()
    assert forms("bleed") >= {"bleed", "bleeds", "bled", "bleeding"}
    assert noun_forms("cheek") == {"cheek", "cheeks"}
    assert inflections.missing() == missing  # lemminflect was not asked


@pytest.mark.slow
def test_a_built_service_has_not_loaded_lemminflect() -> None:
    # In a fresh interpreter: the test process itself has loaded it (the tests above).
    printed = fresh_interpreter(
        "import sys, logging; logging.disable(logging.CRITICAL)\n"
        "from cds_service.app import create_app\n"
        "from cds_service.settings import Settings\n"
        "create_app(Settings(database_url='sqlite://', secret_key='x', auth_mode='development'))\n"
        "print(sorted(m for m in sys.modules if m.startswith('lemminflect')))\n"
    )
    assert printed.strip() == "[]"
