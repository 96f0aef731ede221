"""Failure signatures: failure text with the varying parts taken out, so the
same failure seen in many builds clusters under one digest (the job that
elastic-recheck needed a hand-written query for)."""

from __future__ import annotations

import hashlib
import re

MAX_TEXT = 4000  # the head of a traceback decides; walls of logs do not help clustering

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"),
        "<TIME>",
    ),
    (
        re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I),
        "<UUID>",
    ),
    (re.compile(r"\b0x[0-9a-f]+\b", re.I), "<ADDR>"),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"), "<IP>"),
    (re.compile(r"\bcci-[a-z0-9-]+"), "<RESOURCE>"),
    (re.compile(r"(?:/tmp|/var/tmp|/run/user/\d+)/[^\s'\":,)]+"), "<TMP>"),
    (re.compile(r"\btmp[a-z0-9_]{6,}\b", re.I), "<TMP>"),
    (re.compile(r"\b[0-9a-f]{12,64}\b", re.I), "<HEX>"),
    (re.compile(r'(File "[^"]+", line )\d+'), r"\1<N>"),
    (re.compile(r"\b\d+(?:\.\d+)?\b"), "<N>"),
    (re.compile(r"[ \t]+"), " "),
)


def normalize(text: str) -> str:
    result = text.strip()[:MAX_TEXT]
    for pattern, replacement in _RULES:
        result = pattern.sub(replacement, result)
    return "\n".join(line.strip() for line in result.splitlines() if line.strip())


def digest(normalized: str) -> str:
    return hashlib.sha256(normalized.encode()).hexdigest()
