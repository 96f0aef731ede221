"""results.subunit: a subunit v2 stream, written as each pair finishes.

Streaming (not written at the end) means a run killed halfway still leaves a
readable stream of what finished (but for the last moment's events, which
the writer thread may not have flushed yet). One test per scenario x target pair; its
steps travel as a JSON attachment, failures as `reason`/`traceback`
attachments (the names testtools and stestr use), infrastructure errors as the
`infrastructure` tag so stability tracking can keep them apart."""

from __future__ import annotations

import functools
import json
import queue
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from container_ci.results.model import PairResult, PairStatus, StepStatus, test_id

TEXT = "text/plain;charset=utf8"
JSON = "application/json"
STATUS = {
    PairStatus.PASSED: "success",
    PairStatus.FAILED: "fail",
    PairStatus.ERROR: "fail",
    PairStatus.UNAVAILABLE: "fail",
    PairStatus.SKIPPED: "skip",
}
TAGS = {
    PairStatus.ERROR: {"infrastructure"},
    PairStatus.UNAVAILABLE: {"infrastructure", "unavailable"},
}


def steps_json(result: PairResult) -> bytes:
    return json.dumps(
        [
            {
                "index": step.index,
                "name": step.name,
                "op": step.op,
                "status": step.status.value,
                "started_at": step.started_at.isoformat(),
                "duration": round(step.duration, 6),
                "message": step.message,
                "line": step.line,
            }
            for step in result.steps
        ],
        indent=1,
    ).encode()


def traceback_text(result: PairResult) -> str:
    parts = []
    for step in result.steps:
        if step.status in (StepStatus.FAILED, StepStatus.ERROR):
            body = step.details or step.message
            parts.append(f"step {step.index + 1} {step.name} (line {step.line}):\n{body}")
    return "\n".join(parts)


class SubunitRecorder:
    """Writes the stream on a thread of its own. The runner's threads hand it
    a pair's events and go on; the thread imports python-subunit (with
    testtools and fixtures, 0.1 s of a run's start-up) while the first pair
    boots, and flushes after each event. `close` returns once everything
    handed to it is written, and raises what writing raised."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._events: queue.SimpleQueue[Callable[[Any], None] | None] = queue.SimpleQueue()
        self._failure: BaseException | None = None
        self._writer = threading.Thread(target=self._write, name="cci-subunit", daemon=True)
        self._writer.start()

    def __enter__(self) -> SubunitRecorder:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _write(self) -> None:
        try:
            import subunit

            stream = subunit.StreamResultToBytes(self._file)
            while (event := self._events.get()) is not None:
                event(stream)
                self._file.flush()
        except BaseException as exc:  # noqa: BLE001 - raised again by close()
            self._failure = exc

    def pair_started(self, scenario: str, target: str, started_at: datetime) -> None:
        self._events.put(functools.partial(_started, test_id(scenario, target), started_at))

    def pair_finished(self, result: PairResult) -> None:
        self._events.put(functools.partial(_finished, result))

    def close(self) -> None:
        if self._writer.is_alive():
            self._events.put(None)
            self._writer.join()
        if not self._file.closed:
            self._file.close()
        if self._failure is not None:
            raise self._failure


def _started(test: str, started_at: datetime, stream: Any) -> None:
    stream.status(test_id=test, test_status="inprogress", timestamp=started_at)


def _finished(result: PairResult, stream: Any) -> None:
    tags = TAGS.get(result.status)
    attachments: list[tuple[str, str, bytes]] = []
    if result.message:
        attachments.append(("reason", TEXT, result.message.encode()))
    trace = traceback_text(result)
    if trace:
        attachments.append(("traceback", TEXT, trace.encode()))
    attachments.append(("steps", JSON, steps_json(result)))
    for name, log in sorted(result.console.items()):
        attachments.append((f"console-{name}", TEXT, log.encode()))
    if result.cleanup_errors:
        attachments.append(("cleanup-errors", TEXT, "\n".join(result.cleanup_errors).encode()))
    for file_name, mime_type, data in attachments:
        stream.status(
            test_id=result.test_id,
            file_name=file_name,
            file_bytes=data,
            mime_type=mime_type,
            eof=True,
            test_tags=tags,
            timestamp=result.finished_at,
        )
    stream.status(
        test_id=result.test_id,
        test_status=STATUS[result.status],
        test_tags=tags,
        timestamp=result.finished_at,
    )
