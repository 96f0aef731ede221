"""YAML loaded with positions, so every error can name `file:line`, and
within bounds (container_ci.input_bounds), so no file can make its reader
spin: nested aliases, deep nesting and size are refused as bad input.

ruamel.yaml's round-trip loader keeps the line of each mapping key and
sequence item; `line_of` walks a path (as jsonschema reports it) down to the
deepest node that has a position. Shared by the scenario and zuul.d loaders."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.composer import Composer
from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.scanner import RoundTripScanner

from container_ci.errors import BadInput
from container_ci.input_bounds import MAX_YAML_BYTES, MAX_YAML_DEPTH, MAX_YAML_NODES

# A path into a document, as jsonschema reports it: keys and list indexes.
Location = Sequence[str | int]

# The bounds (container_ci.input_bounds) are checked twice. First by libyaml
# (C, through PyYAML), whose events come 50-100x faster than ruamel's
# pure-Python parser (65-200 KB/s): a document over a bound is refused in
# milliseconds, not after ruamel parsed 100,000 nodes (seconds). Then by
# ruamel's composer, as it composes: what libyaml cannot read (it stops at
# its first syntax error, and ruamel has the last word on syntax) is still
# bounded, at ruamel's speed. Flow collections (`[[[...`) are refused by
# ruamel's scanner as it opens the level: it scans up to 1,024 characters
# ahead of the parser, at a cost per character that grows with the open flow
# levels (over a second for 1,024 of them).


class InputBoundExceeded(MarkedYAMLError):
    """A document over MAX_YAML_NODES or MAX_YAML_DEPTH, or an alias inside
    the node it names (a cycle: no walk of it ends)."""


class BoundedComposer(Composer):
    """ruamel's composer, counting as it composes: each node once, each alias
    as the expanded size of the node it names (known once that node is
    complete), and the nesting depth. Refuses at the event that crosses a
    bound, so the refusal costs no more than the bound itself."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.nodes = 0  # expanded size of the document so far
        self.nesting = 0
        self.sizes: dict[int, int] = {}  # id(anchored node) -> its expanded size

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None:  # else ruamel's own "undefined alias" error
                size = self.sizes.get(id(target))
                if size is None:
                    self._refuse(f"alias *{event.anchor} is inside the node it names", event)
                self._count(size, event)
            return super().compose_node(parent, index)
        self.nesting += 1
        if self.nesting > MAX_YAML_DEPTH:
            self._refuse(f"nested deeper than {MAX_YAML_DEPTH} levels", event)
        before = self.nodes
        self._count(1, event)
        node = super().compose_node(parent, index)
        self.nesting -= 1
        if event.anchor is not None:
            self.sizes[id(node)] = self.nodes - before
        return node

    def _count(self, size: int, event: Any) -> None:
        self.nodes += size
        if self.nodes > MAX_YAML_NODES:
            self._refuse(
                f"expands to more than {MAX_YAML_NODES:,} nodes "
                "(each alias counted as a copy of what it names)",
                event,
            )

    def _refuse(self, problem: str, event: Any) -> NoReturn:
        raise InputBoundExceeded(None, None, problem, event.start_mark)


class BoundedScanner(RoundTripScanner):
    """ruamel's round-trip scanner, refusing a flow collection that opens
    deeper than MAX_YAML_DEPTH before scanning further."""

    def fetch_flow_collection_start(self, TokenClass: Any, to_push: str) -> None:  # noqa: N803
        if self.flow_level >= MAX_YAML_DEPTH:
            raise InputBoundExceeded(
                None, None, f"nested deeper than {MAX_YAML_DEPTH} levels", self.reader.get_mark()
            )
        super().fetch_flow_collection_start(TokenClass, to_push)


class CheckedConstructor(RoundTripConstructor):
    """ruamel's round-trip constructor, a scalar it cannot convert (an !!int
    that is no number, an int of 5,000 digits, a date of month 13, an
    !!bool that is neither) being a YAML error at its line: ruamel lets the
    ValueError, KeyError or IndexError of the conversion through."""

    def construct_non_recursive_object(self, node: Any, tag: str | None = None) -> Any:
        try:
            return super().construct_non_recursive_object(node, tag)
        except (ValueError, KeyError, IndexError, TypeError, OverflowError) as exc:
            raise ConstructorError(None, None, _unreadable(node, exc), node.start_mark) from None

    def check_mapping_key(
        self, node: Any, key_node: Any, mapping: Any, key: Any, value: Any
    ) -> bool:
        if isinstance(key, TaggedScalar):  # `!foo name:` is no `name` to whoever reads it
            problem = f"a mapping key with a tag ({key_node.tag}): keys are plain here"
            raise ConstructorError(None, None, problem, key_node.start_mark)
        try:
            return bool(super().check_mapping_key(node, key_node, mapping, key, value))
        except TypeError as exc:  # a mapping as a key: not hashable
            problem = _unreadable(key_node, exc)
            raise ConstructorError(None, None, problem, key_node.start_mark) from None


class _CheckedSafeLoader(pyyaml.SafeLoader):
    """yaml.safe_load's loader, a scalar its constructors cannot convert (as
    above) being a YAML error at its line, not a ValueError or IndexError."""

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, KeyError, IndexError, TypeError, OverflowError) as exc:
            raise pyyaml.constructor.ConstructorError(
                None, None, _unreadable(node, exc), node.start_mark
            ) from None


def _unreadable(node: Any, exc: Exception) -> str:
    value = repr(node.value)[:60] if isinstance(node.value, str) else "this node"
    return f"cannot read {value} as {node.tag}: {' '.join(str(exc).split())}"


def _prescan(text: str, syntax: bool = False) -> tuple[int, str] | None:
    """(line, problem) of the first bound the document crosses, as libyaml
    reads it; None when it crosses none, or libyaml stops on a syntax error
    first, or PyYAML has no libyaml. With `syntax`, as PyYAML's own parser
    reads it (what a library calling yaml.safe_load reads), and its first
    syntax error is a problem too."""
    loader = pyyaml.SafeLoader if syntax else getattr(pyyaml, "CSafeLoader", None)
    if loader is None:
        return None
    sizes: dict[str, int] = {}  # anchor -> expanded size of the node it names
    opened: list[tuple[str | None, int]] = []  # open collections: anchor, nodes before
    nodes = 0
    try:
        for event in pyyaml.parse(text, Loader=loader):
            if isinstance(event, pyyaml.AliasEvent):
                size = sizes.get(str(event.anchor))
                if size is None:
                    if any(anchor == event.anchor for anchor, _ in opened):
                        return _line(event), f"alias *{event.anchor} is inside the node it names"
                    if syntax:
                        return _line(event), f"invalid YAML: found undefined alias {event.anchor!r}"
                    return None  # undefined: ruamel says so
                nodes += size
            elif isinstance(event, pyyaml.ScalarEvent):
                nodes += 1
                if event.anchor is not None:
                    sizes[event.anchor] = 1
            elif isinstance(event, pyyaml.CollectionStartEvent):
                if event.anchor is not None:
                    sizes.pop(event.anchor, None)  # redefined: the new node, once complete
                opened.append((event.anchor, nodes))
                nodes += 1
                if len(opened) > MAX_YAML_DEPTH:
                    return _line(event), f"nested deeper than {MAX_YAML_DEPTH} levels"
            elif isinstance(event, pyyaml.CollectionEndEvent):
                anchor, before = opened.pop()
                if anchor is not None:
                    sizes[anchor] = nodes - before
            if nodes > MAX_YAML_NODES:
                return _line(event), (
                    f"expands to more than {MAX_YAML_NODES:,} nodes "
                    "(each alias counted as a copy of what it names)"
                )
    except pyyaml.YAMLError as exc:
        if not syntax:
            return None
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or exc
        return (mark.line + 1 if mark else 1), f"invalid YAML: {' '.join(str(problem).split())}"
    return None


def _line(event: pyyaml.Event) -> int:
    return event.start_mark.line + 1 if event.start_mark is not None else 1


def _head(path: Path) -> bytes:
    """The file's bytes, refused over MAX_YAML_BYTES (unread past it)."""
    with open(path, "rb") as handle:
        data = handle.read(MAX_YAML_BYTES + 1)
    if len(data) > MAX_YAML_BYTES:
        raise BadInput(f"{path}:1: refused: larger than {MAX_YAML_BYTES:,} bytes")
    return data


def _text(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BadInput(f"{path}:{line}: not UTF-8: {exc.reason} at byte {exc.start}") from None


def _refuse_crossing(path: Path, text: str, syntax: bool = False) -> None:
    crossed = _prescan(text, syntax)
    if crossed is not None:
        line, problem = crossed
        if not problem.startswith("invalid YAML"):
            problem = f"refused: {problem}"
        raise BadInput(f"{path}:{line}: {problem}")


def check_pyyaml_file(path: Path, syntax: bool = True) -> pyyaml.Node | None:
    """For a file another library parses with PyYAML's yaml.safe_load
    (openstacksdk reads clouds.yaml, and would skip a broken one without a
    word): BadInput(`file:line: ...`) if it crosses a bound, is not UTF-8,
    or (with `syntax`) is not YAML as that function reads it. With `syntax`,
    the document's nodes (with their lines), for checks of its shape. A
    file that cannot be read at all is that library's to report."""
    try:
        data = _head(path)
    except OSError:
        return None
    text = _text(path, data)
    _refuse_crossing(path, text, syntax)
    if not syntax:
        return None
    try:
        pyyaml.load(text, Loader=_CheckedSafeLoader)  # yaml.safe_load's constructors refuse too
    except pyyaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        raise BadInput(f"{path}:{mark.line + 1 if mark else 1}: invalid YAML: {problem}") from None
    except pyyaml.YAMLError as exc:
        raise BadInput(f"{path}:1: invalid YAML: {' '.join(str(exc).split())}") from None
    return pyyaml.compose(text, Loader=pyyaml.SafeLoader)


def load_yaml(path: Path) -> Any:
    """Parse `path` within container_ci.input_bounds; syntax errors and
    documents over a bound become BadInput(`file:line: message`)."""
    try:
        data = _head(path)
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc}") from None
    text = _text(path, data)
    _refuse_crossing(path, text)
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    yaml.Scanner = BoundedScanner
    yaml.Composer = BoundedComposer
    yaml.Constructor = CheckedConstructor
    try:
        return yaml.load(text)
    except InputBoundExceeded as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else 1
        raise BadInput(f"{path}:{line}: refused: {exc.problem}") from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        raise BadInput(f"{path}:{line}: invalid YAML: {problem}") from None
    except YAMLError as exc:
        raise BadInput(f"{path}:1: invalid YAML: {' '.join(str(exc).split())}") from None


def line_of(root: Any, path: Location, key_line: bool = True) -> int:
    """1-based line of the node at `path` (the key's line for mapping entries),
    or of its nearest ancestor that has one."""
    line = _own_line(root)
    node = root
    for part in path:
        if isinstance(node, CommentedMap) and part in node:
            position = node.lc.key(part) if key_line else node.lc.value(part)
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            position = node.lc.item(part)
        else:
            break
        if position is None:  # a tagged collection (`!x [a]`) keeps no item positions
            break
        line = position[0] + 1
        node = node[part]
    return line


def _own_line(node: Any) -> int:
    if isinstance(node, CommentedMap | CommentedSeq) and node.lc.line is not None:
        return int(node.lc.line) + 1
    return 1


def to_plain(node: Any) -> Any:
    """Plain dicts/lists/scalars for jsonschema (ruamel scalars subclass str/int)."""
    if isinstance(node, dict):
        return {str(key): to_plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [to_plain(item) for item in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def dotted(path: Location) -> str:
    """`steps[2].expect.exit_code` from ("steps", 2, "expect", "exit_code")."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"
