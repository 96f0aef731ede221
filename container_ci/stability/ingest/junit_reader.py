"""JUnit XML as pytest, Jenkins, tempest's subunit2junitxml and container-ci
write it: a <testsuites> or a bare <testsuite> root, test ids as
`classname.name`, failures as <failure>/<error>, skips as <skipped>.

Parsed by defusedxml, within container_ci.input_bounds: a DTD's entities
(the XML "billion laughs", or an external file or URL) are refused with the
line that declares them, as is a file over MAX_XML_BYTES."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import DefusedXMLParser
from junitparser import Error, Failure, JUnitXml, JUnitXmlError, Skipped, TestSuite

from container_ci.errors import BadInput
from container_ci.input_bounds import MAX_XML_BYTES
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


def parse_xml(data: bytes, source: str) -> Element:
    """The root element; BadInput(`source:line: ...`) for XML that is not
    well-formed or declares entities."""
    parser = DefusedXMLParser(target=TreeBuilder())
    try:
        parser.feed(data)
        return parser.close()
    except ParseError as exc:
        line = exc.position[0]
        problem = str(exc).rsplit(": line ", 1)[0]
        raise BadInput(f"{source}:{line}: not well-formed JUnit XML: {problem}") from None
    except DefusedXmlException as exc:  # before ValueError, which it is
        line = parser.parser.CurrentLineNumber
        if isinstance(exc, EntitiesForbidden):
            problem = f"declares the entity {exc.name!r}"
        elif isinstance(exc, ExternalReferenceForbidden):
            problem = f"refers to the external {exc.sysid!r}"
        else:
            problem = str(exc)
        raise BadInput(
            f"{source}:{line}: refused: {problem}: JUnit XML needs no entities, and one "
            "can expand without bound or read a file"
        ) from None
    except (LookupError, ValueError) as exc:  # an encoding Python or expat cannot read
        raise BadInput(f"{source}:1: not well-formed JUnit XML: {exc}") from None


def read_junit_file(path: Path, job: str) -> ParsedBuild:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_XML_BYTES + 1)
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror}") from exc
    if len(data) > MAX_XML_BYTES:
        raise BadInput(f"{path}:1: refused: larger than {MAX_XML_BYTES:,} bytes")
    root = parse_xml(data, str(path))
    try:
        # junitparser annotates fromroot with its own Element; it reads an etree one
        document = JUnitXml.fromroot(root)  # type: ignore[arg-type]
    except JUnitXmlError:
        raise BadInput(
            f"{path}:1: the root element is <{root.tag}>, not <testsuites> or <testsuite>"
        ) from None
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
            try:
                duration = float(case.time) if case.time is not None else None
            except ValueError:
                raise BadInput(f"{path}: testcase {test_id}: its time is not a number") from None
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
