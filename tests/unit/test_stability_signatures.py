"""Failure signatures keyed on the cause, on real failures: 36 recorded
from this project's runs against the local cloud (tests/fakes/
real_failures.json: upstream Tempest on the Docker driver, the container
service tests against a real Zun, the runner's container-service target)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from container_ci.stability.ingest.model import ParsedBuild, ParsedResult
from container_ci.stability.ingest.writer import record_build
from container_ci.stability.signatures import cause, digest, normalize
from container_ci.stability.tables import FailureSignature
from tests.fakes.stability_data import T0

FAILURES = json.loads((Path(__file__).parents[1] / "fakes" / "real_failures.json").read_text())[
    "failures"
]


def test_real_failures_cluster_by_cause():
    causes = Counter(cause(f["failure_text"]) for f in FAILURES)
    whole = {digest(normalize(f["failure_text"])) for f in FAILURES}
    assert len(FAILURES) == 36
    assert len(whole) == 31  # the whole traceback: nearly one per test
    assert len(causes) == 16
    assert sorted(causes.values(), reverse=True)[:4] == [5, 5, 4, 4]


def test_tests_failing_for_one_reason_share_a_signature():
    by_test = {f["test_id"]: cause(f["failure_text"]) for f in FAILURES if "vcpus" in f["test_id"]}
    assert len(by_test) == 2 and len(set(by_test.values())) == 1
    assert next(iter(by_test.values())) == "testtools.matchers._impl.MismatchError: <N> != <N>"


def test_a_service_that_does_not_answer_is_one_cause_whatever_the_path():
    refused = {cause(f["failure_text"]) for f in FAILURES if "MaxRetryError" in f["failure_text"]}
    assert len(refused) == 1
    assert "with url: <PATH>" in next(iter(refused))


def test_the_cause_is_the_last_links_exception_with_its_details():
    text = (
        "Traceback (most recent call last):\n"
        '  File "/x/a.py", line 3, in f\n'
        "    raise OSError(111)\n"
        "ConnectionRefusedError: [Errno 111] Connection refused\n"
        "\n"
        "The above exception was the direct cause of the following exception:\n"
        "\n"
        "Traceback (most recent call last):\n"
        '  File "/x/b.py", line 9, in test_boot\n'
        "    self.wait()\n"
        "tempest.lib.exceptions.TimeoutException: Request timed out\n"
        "Details: server 3f2b6a1e-8c1d-4b7a-9e0f-123456789abc is BUILD after 300s\n"
    )
    assert cause(text) == (
        "tempest.lib.exceptions.TimeoutException: Request timed out\n"
        "Details: server <UUID> is BUILD after 300s"
    )
    assert cause("step 2 reboot: timed out after 60s\nconsole: ...") == (
        "step <N> reboot: timed out after 60s\nconsole: ..."
    )


def test_the_store_counts_causes(store):
    """One build of the real failures: one signature per cause."""
    record_build(
        store,
        ParsedBuild(
            uuid="real-failures",
            job="tempest-full-compute-docker",
            source="subunit",
            start_time=T0,
            results=[
                ParsedResult(f"{f['test_id']}#{i}", "fail", 1.0, f["failure_text"])
                for i, f in enumerate(FAILURES)
            ],
        ),
    )
    with store.session() as session:
        assert session.query(FailureSignature).count() == 16
