"""container-ci installed the way a user installs it (`pip install`, not
editable, into a fresh virtualenv), run from a clone somewhere else: the
main job finds its scenarios and matrix in the installed package, and the
commands that work on a repository's files (`zuul check`, `stability decide
--apply`) work on that clone's, never on this source tree's."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from container_ci.stability.store import Store
from tests.fakes.stability_data import zuul_history
from tests.helpers import REPO

# One virtualenv for the module: every test here runs on the same worker.
pytestmark = pytest.mark.xdist_group("installed")

JOB = "nova-lxc-tempest"  # experimental in jobs/promotion.yaml and in zuul.d
# Not part of the source: what git ignores, git itself, and a run's output.
NOT_SOURCE = {".git", ".venv", ".tox", "build", "results", "reports", "__pycache__"}


def not_source(directory: str, names: list[str]) -> set[str]:
    top_level = Path(directory) == REPO
    return {
        name
        for name in names
        if name.endswith(".egg-info") or name == "__pycache__" or (top_level and name in NOT_SOURCE)
    }


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`bin/` of a fresh virtualenv with this tree installed, not editable
    (with the zuul extra: `zuul check` uses Zuul's own schemas). Built from
    a copy: setuptools builds in the source tree and keeps stale files there."""
    scratch = tmp_path_factory.mktemp("installed")
    source = scratch / "source"
    shutil.copytree(REPO, source, ignore=not_source)
    venv = scratch / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    done = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
         f"{source}[zuul]"],
        capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return venv / "bin"


@pytest.fixture
def clone(tmp_path: Path) -> Iterator[Path]:
    """A clone of this repository elsewhere; this tree's own repository
    files must be the same after the test."""
    watched = [*sorted((REPO / "zuul.d").glob("*.yaml")), REPO / "jobs" / "promotion.yaml"]
    before = {path: path.read_bytes() for path in watched}
    target = tmp_path / "clone"
    if (REPO / ".git").exists():
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(target)], check=True)
    else:  # a tree without git (an sdist): a checkout of its own
        shutil.copytree(REPO, target, ignore=not_source)
        subprocess.run(["git", "init", "--quiet", str(target)], check=True)
    yield target
    assert {path: path.read_bytes() for path in watched} == before, "this tree was edited"


def container_ci(
    installed: Path, clone: Path, *args: str | Path, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(installed / "container-ci"), *map(str, args)],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_the_main_job_runs_the_installed_scenarios(installed, clone, run_id, tmp_path):
    out = tmp_path / "results"
    done = container_ci(installed, clone, "run", "--run-id", run_id, "--output", out,
                        "--db", f"sqlite:///{tmp_path / 'store.sqlite'}")  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    results = summary["results"]
    assert len(results) == 12  # six shipped scenarios on two targets
    assert {r["status"] for r in results} <= {"passed", "skipped"}
    venv = installed.parent
    for result in results:
        assert Path(result["scenario_file"]).is_relative_to(venv), result["scenario_file"]


def test_zuul_check_checks_the_clone(installed, clone):
    done = container_ci(installed, clone, "zuul", "check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == f"zuul check: {clone / 'zuul.d'}: OK"


def test_decide_apply_edits_the_clone_only(installed, clone, tmp_path):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    with Store(url) as store:
        zuul_history(store, JOB, ["t.boot", "t.reboot"], failures={4: "t.reboot"})
    done = container_ci(installed, clone, "stability", "--db", url, "decide", "--job", JOB,
                        "--apply")  # fmt: skip
    assert done.returncode == 10, done.stdout + done.stderr
    assert f"applied: {JOB} experimental -> check-non-voting" in done.stdout
    changed = subprocess.run(
        ["git", "diff", "--name-only"], cwd=clone, capture_output=True, text=True, check=True
    ).stdout.split()
    assert sorted(changed) == ["jobs/promotion.yaml", "zuul.d/project.yaml"]
    assert f"  {JOB}: check-non-voting" in (clone / "jobs" / "promotion.yaml").read_text()
