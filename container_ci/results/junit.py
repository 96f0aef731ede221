"""results.xml: JUnit XML, for Jenkins, Zuul's result views and any JUnit reader.

classname + "." + name is the stable test id. Driver failures are
<failure>, infrastructure (and unavailable targets) <error>, declared
capability gaps <skipped>."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path
from xml.etree import ElementTree

from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

from container_ci.results.model import TEST_ID_PREFIX, PairResult, PairStatus, RunResult, StepStatus


def step_table(pair: PairResult) -> str:
    lines = [f"{'#':>3}  {'status':<8} {'seconds':>8}  step"]
    for step in pair.steps:
        message = f"  -- {step.message}" if step.message else ""
        status = step.status.value
        lines.append(
            f"{step.index + 1:>3}  {status:<8} {step.duration:>8.3f}  {step.name}{message}"
        )
    for name, log in sorted(pair.console.items()):
        lines.append(f"\n--- console of {name} ---\n{log.rstrip()}")
    for error in pair.cleanup_errors:
        lines.append(f"cleanup: {error}")
    return "\n".join(lines)


def failure_text(pair: PairResult) -> str:
    return (
        "\n".join(
            step.details or step.message
            for step in pair.steps
            if step.status in (StepStatus.FAILED, StepStatus.ERROR)
        )
        or pair.message
    )


def testcase(pair: PairResult) -> TestCase:
    case = TestCase(name=pair.target, classname=f"{TEST_ID_PREFIX}.{pair.scenario}")
    case.time = round(pair.duration, 3)
    if pair.status in (PairStatus.FAILED, PairStatus.ERROR, PairStatus.UNAVAILABLE):
        outcome: Failure | Error
        if pair.status == PairStatus.FAILED:
            outcome = Failure(message=pair.message, type_="failure")
        else:
            kind = "unavailable" if pair.status == PairStatus.UNAVAILABLE else "infrastructure"
            outcome = Error(message=pair.message, type_=kind)
        outcome.text = failure_text(pair)
        case.result = [outcome]
    elif pair.status == PairStatus.SKIPPED:
        case.result = [Skipped(message=pair.message)]
    case.system_out = step_table(pair)
    return case


def write_junit(run: RunResult, path: Path) -> None:
    suite = TestSuite("container-ci")
    suite.timestamp = run.started_at.isoformat()
    suite.hostname = socket.gethostname()
    suite.add_property("run-id", run.run_id)
    if run.interrupted:
        suite.add_property("interrupted", run.interrupted)
    for pair in run.pairs:
        suite.add_testcase(testcase(pair))
    suite.update_statistics()
    suite.time = round((run.finished_at - run.started_at).total_seconds(), 3)
    xml = JUnitXml()
    xml.add_testsuite(suite)
    # Indented with tabs, as junitparser's pretty=True writes it, but by the
    # standard library's indent: pretty=True goes through xml.dom.minidom,
    # whose import alone costs a run 30 ms.
    document = ElementTree.fromstring(xml.tostring())
    ElementTree.indent(document, space="\t")
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".results-", suffix=".xml")
    os.close(descriptor)
    try:
        ElementTree.ElementTree(document).write(temporary, encoding="utf-8", xml_declaration=True)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
