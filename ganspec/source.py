"""Read a spec file into plain Python data while remembering where every node came from.

PyYAML's safe composer gives us a node tree with line/column marks; we build the data
ourselves from it so that we can (a) record the position of every key and value under its
dotted spec path, (b) report duplicate keys instead of silently keeping the last one,
(c) refuse alias bombs and recursive anchors before they eat memory, and (d) apply YAML merge
keys (``<<: *defaults``) with each merged key placed where its value is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from ganspec.diagnostics import elide
from ganspec.reading import ReadFailed, read_bounded

PathKey = tuple[str | int, ...]

MAX_FILE_BYTES = 2_000_000
# Values and keys, counted after aliases and merges expand. The largest valid spec (two
# networks of 200 layers, every option of every layer written) has about 10,000; each stage
# after the reader costs up to ~20 us per node, so this also bounds what a hostile file costs.
MAX_NODES = 25_000
MAX_DEPTH = 64

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_COLLECTION_TAGS = frozenset({_MAP_TAG, "tag:yaml.org,2002:seq"})
_MERGE_TAG = "tag:yaml.org,2002:merge"  # what YAML 1.1 resolves a plain `<<` key to
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
    """Turns a composed node tree into dicts, lists and scalars, recording positions.

    Aliases make a small text expand to a large tree, so every node visited counts against
    MAX_NODES: values, keys (an alias used as a key again and again) and the keys a YAML merge
    (``<<: *defaults``) copies in.
    """

    def __init__(self, document: SourceDocument) -> None:
        self.doc = document
        self.scalars = SafeConstructor()
        self.nodes_built = 0
        self.active: set[int] = set()
        # (mapping, repeated key node) pairs already reported: a mapping reached again through
        # an alias or a merge, or an alias repeated as a key, is one mistake, reported once.
        self.reported: set[tuple[int, int]] = set()

    def count(self, node: yaml.Node) -> None:
        self.nodes_built += 1
        if self.nodes_built > MAX_NODES:
            raise _too_many_nodes(node.start_mark)

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.count(node)
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
            shown = elide(repr(node.value))
            raise UnusableInput(
                "GS100", f"cannot read the value {shown}: {elide(str(exc), 200)}", _mark(node)
            ) from None

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, (key_node, value_node) in self._entries(node, path, 0).items():
            child = (*path, key)
            self.doc.key_positions.setdefault(child, _mark(key_node))
            result[key] = self.build(value_node, child)
        return result

    def _entries(
        self, node: yaml.MappingNode, path: PathKey, merges: int
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """key -> (key node, value node) of a mapping in document order, after YAML merges.

        Keys written in the mapping override merged ones wherever the ``<<`` sits; of several
        merged mappings (``<<: [*a, *b]``) the first that has a key gives it. Only a key written
        twice in the mapping itself is a duplicate. Of a duplicate, the first key (its position)
        and the last value (what YAML keeps) are used.
        """
        own: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        first_merge: yaml.Node | None = None
        for key_node, value_node in node.value:
            self.count(key_node)
            if not isinstance(key_node, yaml.ScalarNode):
                raise UnusableInput(
                    "GS100",
                    "mapping keys must be plain words, not lists or mappings",
                    _mark(key_node),
                )
            if key_node.tag == _MERGE_TAG:
                if first_merge is not None:
                    self._duplicate(node, (*path, "<<"), first_merge, key_node)
                first_merge = first_merge or key_node
                continue
            # The key as written: `on:` stays "on" instead of YAML 1.1's boolean True.
            key = str(key_node.value)
            if key in own:
                self._duplicate(node, (*path, key), own[key][0], key_node)
                own[key] = (own[key][0], value_node)
            else:
                own[key] = (key_node, value_node)
        if first_merge is None:
            return own
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                key = str(key_node.value)
                entries.setdefault(key, own[key])
                continue
            for source in self._merge_sources(value_node, merges):
                self.active.add(id(source))
                try:
                    merged = self._entries(source, path, merges + 1)
                finally:
                    self.active.discard(id(source))
                for key, pair in merged.items():
                    if key not in own:
                        entries.setdefault(key, pair)
        return entries

    def _merge_sources(self, value: yaml.Node, merges: int) -> list[yaml.MappingNode]:
        """The mappings ``<<: *a`` or ``<<: [*a, *b]`` merges, in order of precedence."""
        if merges >= MAX_DEPTH:
            raise UnusableInput(
                "GS100", f"merge keys (<<) nested deeper than {MAX_DEPTH} levels", _mark(value)
            )
        items = value.value if isinstance(value, yaml.SequenceNode) else [value]
        for item in items:
            if not isinstance(item, yaml.MappingNode) or item.tag != _MAP_TAG:
                got = "a list" if isinstance(item, yaml.SequenceNode) else "a single value"
                got = f"a {item.tag} mapping" if isinstance(item, yaml.MappingNode) else got
                raise UnusableInput(
                    "GS100",
                    f"a merge key (<<) takes a mapping or a list of mappings "
                    f"(`<<: *defaults`), not {got}",
                    _mark(item),
                )
            if id(item) in self.active:
                raise UnusableInput(
                    "GS100", "a mapping merges itself (recursive merge key)", _mark(item)
                )
        return list(items)

    def _duplicate(
        self, node: yaml.Node, path: PathKey, first: yaml.Node, again: yaml.Node
    ) -> None:
        if (id(node), id(again)) not in self.reported:
            self.reported.add((id(node), id(again)))
            self.doc.duplicates.append(DuplicateKey(path, _mark(first), _mark(again)))


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


def _too_many_nodes(mark: Any) -> UnusableInput:
    return UnusableInput(
        "GS100",
        f"the document has more than {MAX_NODES} keys and values, counting what aliases and "
        "merge keys (<<) expand to (an alias bomb?); a spec has a few thousand at most",
        Position(mark.line + 1, mark.column + 1),
    )


def _check_shape(text: str) -> None:
    """Refuse deep nesting and too many nodes from the event stream, before composing.

    libyaml's composer recurses per level and crashes the interpreter around 25k levels, and
    builds every node of a 2 MB flat list (a million of them: 10 s and 300 MB) before the
    builder could count them; the event parser does neither, and stopping at the first event
    past MAX_DEPTH or MAX_NODES keeps this cheap.
    """
    depth = nodes = 0
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
            continue
        elif not isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent)):
            continue
        nodes += 1
        if nodes > MAX_NODES:
            raise _too_many_nodes(event.start_mark)


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
        _check_shape(text)
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
    """Read and parse a spec file, turning every way it can be unreadable into ``UnusableInput``.

    Any kind of file works, a pipe (``validate <(...)``), a FIFO and ``/dev/stdin`` included,
    and none is read past MAX_FILE_BYTES + 1 bytes or waited on forever (see :mod:`reading`).
    """
    path = Path(path)
    try:
        raw = read_bounded(path, MAX_FILE_BYTES)
    except ReadFailed as exc:
        raise UnusableInput("GS101" if exc.empty else "GS100", exc.message) from None
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
