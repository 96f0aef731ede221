"""YAML loaded with positions, so every error can name `file:line`.

ruamel.yaml's round-trip loader keeps the line of each mapping key and
sequence item; `line_of` walks a path (as jsonschema reports it) down to the
deepest node that has a position. Shared by the scenario and zuul.d loaders."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from container_ci.errors import BadInput

# A path into a document, as jsonschema reports it: keys and list indexes.
Location = Sequence[str | int]


def load_yaml(path: Path) -> Any:
    """Parse `path`; syntax errors become BadInput(`file:line: message`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: cannot read: {exc}") from None
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        return yaml.load(text)
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
            line = position[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        else:
            break
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
