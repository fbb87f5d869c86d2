"""YAML files that remember where each value came from, so content errors can name file and line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import CDSError

Location = tuple[str | int, ...]

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class YamlDocument:
    path: Path
    data: Any
    lines: dict[Location, int] = field(default_factory=dict)

    def line_of(self, location: Location) -> int:
        """The line of the deepest known part of ``location`` (1 for the document itself)."""
        for end in range(len(location), 0, -1):
            line = self.lines.get(tuple(location[:end]))
            if line is not None:
                return line
        return 1


class YamlError(CDSError):
    """A content file that is not the YAML it should be, with its file and line."""

    status = 500
    issue_code = "invariant"

    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line = path, line


def _record_lines(node: yaml.Node, here: Location, lines: dict[Location, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            where = (*here, str(key_node.value))
            lines[where] = key_node.start_mark.line + 1
            _record_lines(value_node, where, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            where = (*here, index)
            lines[where] = item.start_mark.line + 1
            _record_lines(item, where, lines)


def load(path: Path) -> YamlDocument:
    """Parse one YAML file; a syntax error becomes a :class:`YamlError` with its line."""
    try:
        text = path.read_text(encoding="utf-8")
        # One parse (libyaml when present) gives both the node tree, for lines, and the data.
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlError(path, line, f"invalid YAML: {exc.problem or exc.context}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise YamlError(path, 1, f"cannot read: {exc}") from None
    lines: dict[Location, int] = {}
    if root is not None:
        _record_lines(root, (), lines)
    return YamlDocument(path, data, lines)
