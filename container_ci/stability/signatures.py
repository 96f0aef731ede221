"""Failure signatures: the cause of a failure with the varying parts taken
out, so the same failure seen in many builds and many tests clusters under
one digest (the job that elastic-recheck needed a hand-written query for).

The cause is the exception of a traceback's last link (Python's chained
tracebacks end with the one raised last): its type, its message and the
lines after it (Tempest's `Details: ...`), normalised. The frames above it
differ between tests that fail for the same reason (each test's own line,
its helpers), so a digest of the whole traceback gave every test its own
signature: 36 real failures (an upstream Tempest run on the Docker driver
and container service runs against a real Zun, while they were being
made to work) made 31 signatures this way and 16 keyed on the cause, the
largest covering 5 tests. Text that is no traceback (the scenario
runner's `step 2 reboot: ...`) is keyed on its first lines. The full text
stays with each result (`test_results.failure_text`), as the example."""

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
    # A service that does not answer fails every request the same way,
    # whichever path each test asked for (urllib3's MaxRetryError).
    (re.compile(r"(with url: )\S+"), r"\1<PATH>"),
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


TRACEBACK = "Traceback (most recent call last):"
KEY_LINES = 3  # the exception line and what follows it (Details: ...)
KEY_CHARS = 600


def cause(text: str) -> str:
    """The normalised cause of a failure: the last traceback's exception
    line and the lines after it, or the first lines of text with none."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    start = max((i for i, line in enumerate(lines) if line.strip() == TRACEBACK), default=None)
    if start is None:
        kept = [line for line in lines if line.strip()][:KEY_LINES]
    else:
        after = lines[start + 1 :]
        # Frames are indented ("  File ...", "    code"); the exception is not.
        first = next((i for i, line in enumerate(after) if line and not line[0].isspace()), None)
        if first is None:
            kept = [line for line in after if line.strip()][-KEY_LINES:]
        else:
            tail = []
            for line in after[first:]:
                if not line.strip() or line.strip() == TRACEBACK:
                    break
                tail.append(line)
            kept = tail[:KEY_LINES]
    return normalize("\n".join(kept))[:KEY_CHARS]


def digest(normalized: str) -> str:
    return hashlib.sha256(normalized.encode()).hexdigest()
