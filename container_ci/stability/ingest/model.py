"""A build as read from any source, before it is stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# subunit's statuses are the store's vocabulary; other formats map onto them.
SUCCESS, FAIL, SKIP, XFAIL, UXSUCCESS = "success", "fail", "skip", "xfail", "uxsuccess"
FINAL_STATUSES = (SUCCESS, FAIL, SKIP, XFAIL, UXSUCCESS)
# Where devstack/tempest jobs publish their subunit stream, relative to the log url.
DEFAULT_SUBUNIT_PATH = "testrepository.subunit.gz"


@dataclass
class ParsedResult:
    test_id: str
    status: str  # one of FINAL_STATUSES
    duration: float | None = None
    # A failure's traceback or message; a skip's reason (the report shows why a
    # test skips on one driver and runs on another).
    failure_text: str | None = None
    infrastructure: bool = False  # the backend broke, not the driver


@dataclass
class ParsedBuild:
    uuid: str  # idempotency key: Zuul's build uuid, a run id, or a content hash
    job: str
    source: str  # container-ci, subunit, stestr, junit, zuul
    result: str | None = None  # Zuul's vocabulary: SUCCESS, FAILURE, NODE_FAILURE, ...
    pipeline: str | None = None
    project: str | None = None
    change: int | None = None
    patchset: str | None = None
    ref: str | None = None
    branch: str | None = None
    voting: bool | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: float | None = None
    log_url: str | None = None
    node: str | None = None
    provider: str | None = None
    results: list[ParsedResult] = field(default_factory=list)

    def derive_result(self) -> str:
        """SUCCESS/FAILURE from the results when the source does not say."""
        failed = [r for r in self.results if r.status in (FAIL, UXSUCCESS)]
        if not failed:
            return "SUCCESS"
        if all(r.infrastructure for r in failed):
            return "NODE_FAILURE"
        return "FAILURE"
