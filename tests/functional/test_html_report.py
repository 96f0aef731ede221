"""The HTML report renders in a real browser (Debian's chromium, headless),
and text from results stays text: an injected test name does not run. What
a reviewer reads shows: the verdict, its reasons and outlook, new and known
failures, the daily trend of a young job and the weekly one of an older."""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta

from container_ci.provision import packages
from container_ci.stability.ingest.model import ParsedBuild, ParsedResult
from container_ci.stability.ingest.writer import record_build
from container_ci.stability.store import Store
from tests.fakes.real_streams import REAL_FAILURES
from tests.fakes.stability_data import T0
from tests.helpers import REPO, run_cli

INJECTED = "<script>document.body.setAttribute('data-pwned','yes')</script>"
# Headless, and quiet: no background fetches, updates or sync (this machine
# reaches no host but itself, and must not try).
CHROMIUM = [
    "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking", "--disable-component-update",
    "--disable-sync",
]  # fmt: skip


def record_history(store: Store) -> None:
    """Twelve daily builds on libvirt LXC; every fourth fails the test whose
    name is a script. Three on Docker, where it skips with a script for a
    reason: the drivers side by side show it, as text. One Docker build 40
    days before, failing as stestr's recorded run failed: a known failure."""
    recorded = REAL_FAILURES[0]  # upstream Tempest on this machine's Docker driver
    record_build(
        store,
        ParsedBuild(
            uuid="d-old",
            job="container-ci-nova-docker",
            source="container-ci",
            start_time=T0 - timedelta(days=40),
            results=[ParsedResult(recorded["test_id"], "fail", 3.0, recorded["failure_text"])],
        ),
    )
    for index in range(3):
        record_build(
            store,
            ParsedBuild(
                uuid=f"d{index}",
                job="container-ci-nova-docker",
                source="container-ci",
                start_time=T0 + timedelta(days=index, hours=1),
                results=[
                    ParsedResult("container_ci.scenarios.lifecycle.libvirt-lxc", "success", 1.0),
                    ParsedResult(INJECTED, "skip", 0.0, f"not on docker {INJECTED}"),
                ],
            ),
        )
    for index in range(12):
        failing = index % 4 == 0
        record_build(
            store,
            ParsedBuild(
                uuid=f"b{index}",
                job="container-ci-lxc",
                source="zuul",
                start_time=T0 + timedelta(days=index),
                change=100 + index,
                patchset="1",
                results=[
                    ParsedResult("container_ci.scenarios.lifecycle.libvirt-lxc", "success", 1.0),
                    ParsedResult(
                        INJECTED,
                        "fail" if failing else "success",
                        1.0,
                        f"boom {INJECTED}" if failing else None,
                    ),
                ],
            ),
        )


def test_report_renders_and_escapes_injected_names(tmp_path):
    packages.install(["chromium"])
    db = f"sqlite:///{tmp_path / 's.sqlite'}"
    with Store(db) as store:
        record_history(store)
    out = tmp_path / "reports"
    policy = tmp_path / "promotion.yaml"
    shipped = (REPO / "jobs" / "promotion.yaml").read_text()
    policy.write_text(shipped.replace("\njobs:\n", "\njobs:\n  container-ci-lxc: experimental\n"))
    done = run_cli("stability", "--db", db, "report", "--policy", policy, "--output", out)
    assert done.returncode == 0, done.stderr
    html = out / "stability.html"
    source = html.read_text()
    assert INJECTED not in source and "&lt;script&gt;" in source
    assert "<svg" in source and "<polygon" in source  # the trend band is drawn

    dom = subprocess.run(
        [*CHROMIUM, f"--user-data-dir={tmp_path / 'chromium'}", "--dump-dom", html.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout
    assert "container-ci stability report" in dom, "the page did not render"
    assert "data-pwned" not in dom.split("<body", 1)[1].split(">", 1)[0], "the injected script ran"
    assert "<script" not in dom.lower().replace("&lt;script", "")
    assert "&lt;script&gt;document.body.setAttribute" in dom  # shown as text
    assert "Compute drivers side by side" in dom
    assert "Verdict: HOLD (experimental)" in dom  # 12 runs < 20
    assert "<li>because: 12 runs &lt; 20 needed</li>" in dom
    assert re.search(r"<li>outlook: promotes after \d+ more consecutive pass\(es\)", dom)
    lxc, docker = section(dom, "container-ci-lxc"), section(dom, "container-ci-nova-docker")
    assert '<span class="new">NEW</span>' in lxc and 'class="known"' not in lxc
    assert '<span class="known">known</span>' in docker and 'class="new"' not in docker
    assert "Trend: pass rate by day (young: its builds span under 28 days)" in lxc
    assert ">2026-11-01</text>" in lxc and ">2026-11-12</text>" in lxc  # the first and last day
    assert "Trend: pass rate by ISO week" in docker
    assert "Operations by compute driver" in dom
    assert "skip (0/3 passed): not on docker &lt;script&gt;" in dom

    screenshot = tmp_path / "report.png"
    subprocess.run(
        [
            *CHROMIUM,
            f"--user-data-dir={tmp_path / 'chromium'}",
            f"--screenshot={screenshot}",
            "--window-size=1200,900",
            html.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    data = screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, "no real screenshot"


def section(dom: str, job: str) -> str:
    """The DOM of one job's section of the report."""
    start = dom.index(f"<h2>Job <code>{job}</code>")
    end = dom.find('<section class="job">', start)
    return dom[start : end if end > 0 else len(dom)]
