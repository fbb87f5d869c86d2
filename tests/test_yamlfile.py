"""YAML content files (cds_service.clinical.yamlfile): the data, the line of every key and list
item, and errors that name the file and the line, so a content author can find the fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from cds_service.clinical.yamlfile import YamlError, load
from cds_service.errors import CDSError

CONTENT = """\
# a comment
meta:
  version: "1.0"
conditions:
  - id: milia
    codes:
      - "3457005"
  - id: acne
"""


def write(tmp_path: Path, text: str, name: str = "content.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_gives_the_data_of_the_file(tmp_path: Path) -> None:
    document = load(write(tmp_path, CONTENT))
    assert document.path == tmp_path / "content.yaml"
    assert document.data == {
        "meta": {"version": "1.0"},
        "conditions": [{"id": "milia", "codes": ["3457005"]}, {"id": "acne"}],
    }


def test_every_key_and_item_has_its_line(tmp_path: Path) -> None:
    document = load(write(tmp_path, CONTENT))
    assert document.line_of(("meta",)) == 2
    assert document.line_of(("meta", "version")) == 3
    assert document.line_of(("conditions", 0)) == 5
    assert document.line_of(("conditions", 0, "codes", 0)) == 7
    assert document.line_of(("conditions", 1, "id")) == 8


def test_an_unknown_location_falls_back_to_its_deepest_known_part(tmp_path: Path) -> None:
    document = load(write(tmp_path, CONTENT))
    assert document.line_of(("conditions", 1, "display")) == 8
    assert document.line_of(("nowhere", "at-all")) == 1
    assert document.line_of(()) == 1


def test_invalid_yaml_is_a_yaml_error_naming_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "meta:\n  version: 1\nconditions:\n  - id: [milia\n")
    with pytest.raises(YamlError) as raised:
        load(path)
    error = raised.value
    assert isinstance(error, CDSError)
    assert error.path == path
    assert error.line >= 4
    assert error.message.startswith(f"{path}:{error.line}: invalid YAML: ")


def test_a_missing_or_undecodable_file_is_a_yaml_error_at_line_1(tmp_path: Path) -> None:
    missing = tmp_path / "absent.yaml"
    with pytest.raises(YamlError, match=r"absent\.yaml:1: cannot read") as raised:
        load(missing)
    assert raised.value.line == 1
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("display: caf\xe9\n".encode("latin-1"))
    with pytest.raises(YamlError, match=r"latin1\.yaml:1: cannot read"):
        load(latin1)


def test_an_empty_file_is_an_empty_document(tmp_path: Path) -> None:
    document = load(write(tmp_path, "# only a comment\n"))
    assert document.data is None
    assert document.lines == {}
