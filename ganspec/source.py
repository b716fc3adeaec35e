"""Read a spec file into plain Python data while remembering where every node came from.

PyYAML's safe composer gives us a node tree with line/column marks; we build the data
ourselves from it so that we can (a) record the position of every key and value under its
dotted spec path, (b) report duplicate keys instead of silently keeping the last one, and
(c) refuse alias bombs and recursive anchors before they eat memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

PathKey = tuple[str | int, ...]

MAX_FILE_BYTES = 2_000_000
MAX_NODES = 100_000
MAX_DEPTH = 64

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR_TAG = "tag:yaml.org,2002:str"
_COLLECTION_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})
# YAML 1.2 reads `2e-4` as a number; PyYAML (YAML 1.1) reads it as text. Learning rates are
# written that way, so plain scalars of this form are numbers here.
_YAML12_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)[eE][-+]?[0-9]+")


@dataclass(frozen=True)
class Position:
    """1-based line and column of a YAML node."""

    line: int
    column: int


class UnusableInput(Exception):
    """The file cannot be read as a spec at all (exit code 2)."""

    def __init__(self, code: str, message: str, position: Position = Position(1, 1)) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.position = position


@dataclass(frozen=True)
class DuplicateKey:
    path: PathKey
    first: Position
    again: Position


@dataclass
class SourceDocument:
    """The parsed mapping plus the positions of its keys and values by spec path."""

    data: dict[str, Any]
    file: str
    text: str = ""  # the source itself, so what was checked is what gets recorded
    value_positions: dict[PathKey, Position] = field(default_factory=dict)
    key_positions: dict[PathKey, Position] = field(default_factory=dict)
    duplicates: list[DuplicateKey] = field(default_factory=list)

    def position(self, path: PathKey, *, key: bool = False) -> Position:
        """Where ``path`` sits in the file, falling back to its nearest existing ancestor."""
        probe = tuple(path)
        while probe:
            table = self.key_positions if key else self.value_positions
            if probe in table:
                return table[probe]
            if probe in self.value_positions:
                return self.value_positions[probe]
            probe = probe[:-1]
        return self.value_positions.get((), Position(1, 1))

    def has(self, path: PathKey) -> bool:
        return tuple(path) in self.value_positions


def _mark(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turns a composed node tree into dicts, lists and scalars, recording positions."""

    def __init__(self, document: SourceDocument) -> None:
        self.doc = document
        self.scalars = SafeConstructor()
        self.nodes_built = 0
        self.active: set[int] = set()

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.nodes_built += 1
        if self.nodes_built > MAX_NODES:
            raise UnusableInput(
                "GS100",
                f"the document expands to more than {MAX_NODES} nodes (alias bomb?)",
                _mark(node),
            )
        if len(path) > MAX_DEPTH:
            raise UnusableInput("GS100", f"nesting deeper than {MAX_DEPTH} levels", _mark(node))
        if id(node) in self.active:
            raise UnusableInput(
                "GS100", "an anchor refers to itself (recursive alias)", _mark(node)
            )
        self.doc.value_positions.setdefault(path, _mark(node))
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if node.tag not in _COLLECTION_TAGS:
            raise UnusableInput("GS100", f"unsupported YAML tag {node.tag}", _mark(node))
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            return self._mapping(node, path)
        finally:
            self.active.discard(id(node))

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag == _STR_TAG and not node.style and _YAML12_FLOAT.fullmatch(node.value):
            return float(node.value)
        try:
            return self.scalars.construct_object(node, deep=True)
        except Exception as exc:  # PyYAML raises many kinds for odd tagged scalars
            raise UnusableInput(
                "GS100", f"cannot read the value {node.value!r}: {exc}", _mark(node)
            ) from None

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise UnusableInput(
                    "GS100",
                    "mapping keys must be plain words, not lists or mappings",
                    _mark(key_node),
                )
            # The key as written: `on:` stays "on" instead of YAML 1.1's boolean True.
            key = str(key_node.value)
            child = (*path, key)
            if key in result:
                self.doc.duplicates.append(
                    DuplicateKey(child, self.doc.key_positions[child], _mark(key_node))
                )
            else:
                self.doc.key_positions[child] = _mark(key_node)
            result[key] = self.build(value_node, child)
        return result


def _char_at(text: str, line: int, column: int) -> str:
    lines = text.splitlines()
    if 0 <= line < len(lines) and 0 <= column < len(lines[line]):
        return lines[line][column]
    return ""


def _describe_yaml_error(exc: yaml.YAMLError, text: str) -> tuple[str, Position]:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    position = Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)
    problem = getattr(exc, "problem", None) or str(exc)
    at_tab = mark is not None and _char_at(text, mark.line, mark.column) == "\t"
    if at_tab or "tab character" in problem:
        return "a tab character is used for indentation; YAML indents with spaces only", position
    if "expected a single document" in str(exc):
        return "the file holds several YAML documents (---); a spec is one document", position
    context = getattr(exc, "context", None)
    text = f"{context}, {problem}" if context else problem
    return f"not valid YAML: {text}", position


def _position_of_offset(text: str, offset: int) -> Position:
    line_start = text.rfind("\n", 0, offset) + 1
    return Position(text.count("\n", 0, offset) + 1, offset - line_start + 1)


def _check_depth(text: str) -> None:
    """Refuse deep nesting from the event stream, before the (recursive) composer sees it.

    libyaml's composer recurses per level and crashes the interpreter around 25k levels; the
    event parser does not, and stopping at the first event past MAX_DEPTH keeps this cheap.
    """
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                mark = event.start_mark
                raise UnusableInput(
                    "GS100",
                    f"nesting deeper than {MAX_DEPTH} levels",
                    Position(mark.line + 1, mark.column + 1),
                )
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def parse_text(text: str, file: str) -> SourceDocument:
    """Parse spec text; raises ``UnusableInput`` when it is not a YAML mapping."""
    if "\x00" in text:
        raise UnusableInput(
            "GS100",
            "the file contains NUL bytes: it is not a text file",
            _position_of_offset(text, text.index("\x00")),
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UnusableInput(
            "GS100", "the text is not valid Unicode", _position_of_offset(text, exc.start)
        ) from None
    try:
        _check_depth(text)
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        message, position = _describe_yaml_error(exc, text)
        raise UnusableInput("GS100", message, position) from None
    except RecursionError:
        raise UnusableInput("GS100", f"nesting deeper than {MAX_DEPTH} levels") from None
    if root is None or (isinstance(root, yaml.ScalarNode) and root.value == ""):
        raise UnusableInput("GS101", "the file is empty: a spec is a YAML mapping (key: value)")
    if not isinstance(root, yaml.MappingNode):
        kind = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
        raise UnusableInput(
            "GS101", f"the document is {kind}; a spec is a YAML mapping (key: value)", _mark(root)
        )
    document = SourceDocument(data={}, file=file, text=text)
    document.data = _Builder(document).build(root, ())
    return document


def read_spec_file(path: str | Path) -> SourceDocument:
    """Read and parse a spec file, turning every way it can be unreadable into ``UnusableInput``."""
    path = Path(path)
    try:
        if path.is_dir():
            raise UnusableInput("GS100", f"{path} is a directory, not a spec file")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise UnusableInput("GS100", f"{path} is larger than {MAX_FILE_BYTES} bytes")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UnusableInput("GS100", f"no such file: {path}") from None
    except OSError as exc:
        raise UnusableInput("GS100", f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise UnusableInput(
            "GS100",
            f"the file is not UTF-8 text (byte {exc.start} cannot be decoded)",
            Position(line, column),
        ) from None
    return parse_text(text, str(path))
