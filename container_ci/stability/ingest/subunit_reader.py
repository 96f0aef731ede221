"""subunit v2 streams (tempest's testrepository.subunit, gzipped or not, and
each run of an stestr repository), parsed with python-subunit.

A stream that fails to parse, or that ends with tests still in progress, is
truncated: it is rejected whole, never stored in part. A stream (gunzipped)
over container_ci.input_bounds.MAX_SUBUNIT_BYTES is refused, read or
decompressed no further than the bound."""

from __future__ import annotations

import gzip
import hashlib
import io
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import subunit
import testtools

from container_ci.errors import BadInput
from container_ci.input_bounds import GZIP_RATIO_FROM, MAX_GZIP_RATIO, MAX_SUBUNIT_BYTES
from container_ci.stability.ingest.model import (
    FAIL,
    FINAL_STATUSES,
    SKIP,
    UXSUCCESS,
    ParsedBuild,
    ParsedResult,
)

FAILURE_DETAILS = ("traceback", "reason")
INFRASTRUCTURE_TAG = "infrastructure"


def read_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_SUBUNIT_BYTES + 1)
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror}") from exc
    return gunzip_if_needed(data, str(path))


def gunzip_if_needed(data: bytes, label: str) -> bytes:
    """tempest's artifacts are usually gzipped; accept both. Either way no
    more than MAX_SUBUNIT_BYTES, and a gzip no more than MAX_GZIP_RATIO
    times what it read: decompressed a MiB at a time, refused at the bound."""
    if data[:2] == b"\x1f\x8b":
        compressed = io.BytesIO(data)
        chunks: list[bytes] = []
        size = 0
        try:
            with gzip.GzipFile(fileobj=compressed) as unzipped:
                while chunk := unzipped.read(1024 * 1024):
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > GZIP_RATIO_FROM and size > MAX_GZIP_RATIO * compressed.tell():
                        raise BadInput(
                            f"{label}: refused: a gzip that expands more than "
                            f"{MAX_GZIP_RATIO}:1 (a subunit stream gzips about 8:1)"
                        )
                    if size > MAX_SUBUNIT_BYTES:
                        break
        except (OSError, EOFError, zlib.error) as exc:
            raise BadInput(f"{label}: truncated or corrupt gzip: {exc}") from exc
        data = b"".join(chunks)
    if len(data) > MAX_SUBUNIT_BYTES:
        raise BadInput(f"{label}: refused: a subunit stream over {MAX_SUBUNIT_BYTES:,} bytes")
    return data


@dataclass(slots=True)
class _Seen:
    """What the stream said of one test so far."""

    status: str | None
    first: datetime | None
    last: datetime | None
    tags: set[str] | None = None
    details: dict[str, list[bytes]] | None = None  # attachment name -> its chunks


class _Collector(testtools.StreamResult):
    """Keeps per test only what the store needs (status, first and last
    timestamp, tags, failure attachments): testtools' StreamToDict builds a
    Content object per packet, which dominates the cost of a million results."""

    def __init__(self) -> None:
        super().__init__()
        self.tests: dict[str, _Seen] = {}
        self.errors: list[str] = []

    def status(
        self,
        test_id: str | None = None,
        test_status: str | None = None,
        test_tags: set[str] | None = None,
        runnable: bool = True,
        file_name: str | None = None,
        file_bytes: bytes | memoryview | None = None,
        eof: bool = False,
        mime_type: str | None = None,
        route_code: str | None = None,
        timestamp: datetime | None = None,
    ) -> None:
        if test_id is None:
            return
        if test_id == "subunit.parser" and file_name == "Parser Error":
            self.errors.append(bytes(file_bytes or b"").decode(errors="replace"))
            return
        seen = self.tests.get(test_id)
        if seen is None:
            seen = self.tests[test_id] = _Seen(None, timestamp, timestamp)
        elif timestamp is not None:
            if seen.first is None:
                seen.first = timestamp
            seen.last = timestamp
        if test_tags:
            seen.tags = set(test_tags) | (seen.tags or set())
        if file_name in FAILURE_DETAILS and file_bytes:
            if seen.details is None:
                seen.details = {}
            seen.details.setdefault(file_name, []).append(bytes(file_bytes))
        if test_status is not None:
            seen.status = test_status


V2_SIGNATURE = 0xB3


def v1_to_v2(data: bytes) -> bytes:
    """stestr repositories (format 1) and old testrepository files hold the
    text protocol, subunit v1: convert it as `subunit-1to2` does."""
    output = io.BytesIO()
    v2 = subunit.StreamResultToBytes(output)
    result = testtools.ExtendedToStreamDecorator(v2)
    result.startTestRun()
    subunit.ProtocolTestCase(io.BytesIO(data)).run(result)
    result.stopTestRun()
    return output.getvalue()


def parse_stream(data: bytes, source: str) -> list[tuple[ParsedResult, list[datetime]]]:
    """Results of every test in the stream, with its timestamps. Raise BadInput."""
    if data and data[0] != V2_SIGNATURE and data.lstrip()[:5] in (b"time:", b"test:", b"tags:"):
        try:
            data = v1_to_v2(data)
        except UnicodeDecodeError as exc:  # python-subunit reads v1 as UTF-8 text
            raise BadInput(f"{source}: subunit v1 that is not UTF-8: {exc}") from None
    collector = _Collector()
    case = subunit.ByteStreamToStreamResult(io.BytesIO(data), non_subunit_name="stdout")
    collector.startTestRun()
    case.run(collector)
    collector.stopTestRun()
    if collector.errors:
        raise BadInput(f"{source}: truncated or corrupt subunit stream: {collector.errors[0]}")
    parsed = []
    for test_id, seen in collector.tests.items():
        status, first, last, tags, details = (
            seen.status, seen.first, seen.last, seen.tags, seen.details
        )  # fmt: skip
        if status == "exists":
            continue  # a listing entry (subunit-ls style), not a result
        if status not in FINAL_STATUSES:
            raise BadInput(
                f"{source}: test {test_id} has no final status ({status}): the stream is truncated"
            )
        duration = (
            (last - first).total_seconds() if first is not None and last is not None else None
        )
        failure = None
        if status == SKIP and details and details.get("reason"):
            failure = b"".join(details["reason"]).decode(errors="replace")
        elif status in (FAIL, UXSUCCESS) and details:
            failure = (
                "\n".join(
                    b"".join(details[name]).decode(errors="replace")
                    for name in FAILURE_DETAILS
                    if name in details
                )
                or None
            )
        parsed.append(
            (
                ParsedResult(
                    test_id=test_id,
                    status=status,
                    duration=duration,
                    failure_text=failure,
                    infrastructure=INFRASTRUCTURE_TAG in (tags or ()),
                ),
                [stamp for stamp in (first, last) if stamp is not None],
            )
        )
    if not parsed:
        raise BadInput(f"{source}: no test results in this subunit stream")
    return parsed


def build_from_stream(data: bytes, source_label: str, source: str, job: str) -> ParsedBuild:
    parsed = parse_stream(data, source_label)
    stamps = [stamp for _result, times in parsed for stamp in times]
    start = min(stamps) if stamps else None
    end = max(stamps) if stamps else None
    return ParsedBuild(
        uuid=f"{source}:{hashlib.sha256(data).hexdigest()}",
        job=job,
        source=source,
        start_time=start,
        end_time=end,
        duration=(end - start).total_seconds() if start and end else None,
        results=[result for result, _times in parsed],
    )


def read_subunit_file(path: Path, job: str) -> ParsedBuild:
    return build_from_stream(read_bytes(path), str(path), "subunit", job)


def read_stestr_repository(path: Path, job: str) -> list[ParsedBuild]:
    """Every run stored in an stestr repository (`.stestr/<n>` files)."""
    repo = path / ".stestr" if (path / ".stestr").is_dir() else path
    if not (repo / "format").is_file():
        raise BadInput(f"{path}: not an stestr repository (no {repo / 'format'})")
    runs = sorted((p for p in repo.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    if not runs:
        raise BadInput(f"{path}: the stestr repository holds no runs")
    return [build_from_stream(read_bytes(run), str(run), "stestr", job) for run in runs]
