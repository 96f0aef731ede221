"""JUnit XML as pytest, Jenkins, tempest's subunit2junitxml and container-ci
write it: a <testsuites> or a bare <testsuite> root, test ids as
`classname.name`, failures as <failure>/<error>, skips as <skipped>."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from xml.etree.ElementTree import ParseError

from junitparser import Error, Failure, JUnitXml, Skipped, TestSuite

from container_ci.errors import BadInput
from container_ci.stability.ingest.model import FAIL, SKIP, SUCCESS, ParsedBuild, ParsedResult

INFRASTRUCTURE_TYPES = ("infrastructure", "unavailable")


def _suites(document: JUnitXml | TestSuite) -> list[TestSuite]:
    if isinstance(document, TestSuite):
        return [document]
    if not isinstance(document, JUnitXml):
        raise ValueError("the root element is neither <testsuites> nor <testsuite>")
    return list(document)


def _timestamp(suite: TestSuite) -> datetime | None:
    try:
        value = datetime.fromisoformat(suite.timestamp) if suite.timestamp else None
    except ValueError:
        return None
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def read_junit_file(path: Path, job: str) -> ParsedBuild:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        document = JUnitXml.fromstring(data)
    except (ParseError, ValueError) as exc:
        raise BadInput(f"{path}: not well-formed JUnit XML: {exc}") from exc
    results: list[ParsedResult] = []
    starts: list[datetime] = []
    total = 0.0
    for suite in _suites(document):
        if not isinstance(suite, TestSuite):
            raise BadInput(f"{path}: expected <testsuite> elements under <testsuites>")
        stamp = _timestamp(suite)
        if stamp:
            starts.append(stamp)
        for case in suite:
            name = case.name or ""
            if not name:
                continue
            test_id = f"{case.classname}.{name}" if case.classname else name
            outcomes = case.result
            status, failure, infrastructure = SUCCESS, None, False
            for outcome in outcomes:
                if isinstance(outcome, Failure | Error):
                    status = FAIL
                    failure = (
                        "\n".join(part for part in (outcome.message, outcome.text) if part)
                        or type(outcome).__name__
                    )
                    infrastructure = isinstance(outcome, Error) and (
                        outcome.type in INFRASTRUCTURE_TYPES
                    )
                    break
                if isinstance(outcome, Skipped):
                    status = SKIP
                    failure = outcome.message or outcome.text or None
            duration = float(case.time) if case.time is not None else None
            total += duration or 0.0
            results.append(ParsedResult(test_id, status, duration, failure, infrastructure))
    if not results:
        raise BadInput(f"{path}: no test cases in this JUnit file")
    start = min(starts) if starts else None
    return ParsedBuild(
        uuid=f"junit:{hashlib.sha256(data).hexdigest()}",
        job=job,
        source="junit",
        start_time=start,
        duration=total,
        results=results,
    )
