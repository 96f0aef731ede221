"""Nova's own files, for the tests that hold container-ci to them: Nova's
Zuul configuration (.zuul.yaml) and its feature support matrix
(doc/source/user/support-matrix.ini). Read where they are, never copied in.

Looked for, in this order:
1. a Nova checkout named by $CONTAINER_CI_NOVA_DIR;
2. the checkout Zuul gives a job that requires openstack/nova:
   src/opendev.org/openstack/nova beside this repository's own
   src/opendev.org/openstack/container-ci, or ~/src/opendev.org/openstack/nova;
3. shared/fixtures (copies at recorded commits) beside this repository, or
   beside the one it was cloned from, or named by $CONTAINER_CI_SHARED_FIXTURES.
A test that needs one of them is skipped, saying where it looked, when none
of these has it: a clone from a public host, with none of them, still passes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ZUUL_SRC_NOVA = Path("src") / "opendev.org" / "openstack" / "nova"

# Which file: (its path in a Nova checkout, its path under shared/fixtures).
NOVA_FILES = {
    "zuul-config": (Path(".zuul.yaml"), Path("zuul") / "nova.zuul.yaml"),
    "support-matrix": (
        Path("doc") / "source" / "user" / "support-matrix.ini",
        Path("nova") / "support-matrix.ini",
    ),
}


def _origin_dir() -> Path | None:
    done = subprocess.run(
        ["git", "-C", str(REPO), "config", "--get", "remote.origin.url"],
        capture_output=True,
        text=True,
        check=False,
    )
    url = done.stdout.strip()
    if done.returncode != 0 or not url or "://" in url or ":" in url.split("/")[0]:
        return None  # only a local path can have a shared/ beside it
    return Path(url).resolve()


def candidates(name: str) -> list[Path]:
    """Every place the file `name` may be, in the order they are tried."""
    in_checkout, in_fixtures = NOVA_FILES[name]
    checkouts = []
    if os.environ.get("CONTAINER_CI_NOVA_DIR"):
        checkouts.append(Path(os.environ["CONTAINER_CI_NOVA_DIR"]))
    checkouts += [REPO.parent / "nova", Path.home() / ZUUL_SRC_NOVA]
    fixtures = []
    if os.environ.get("CONTAINER_CI_SHARED_FIXTURES"):
        fixtures.append(Path(os.environ["CONTAINER_CI_SHARED_FIXTURES"]))
    fixtures.append(REPO.parent / "shared" / "fixtures")
    origin = _origin_dir()
    if origin is not None:
        fixtures.append(origin.parent / "shared" / "fixtures")
    return [c / in_checkout for c in checkouts] + [f / in_fixtures for f in fixtures]


def nova_file(name: str) -> Path:
    """The first of `candidates(name)` that exists; the calling test is
    skipped, with where it looked, when none does."""
    places = candidates(name)
    for place in places:
        if place.is_file():
            return place
    pytest.skip(
        f"needs Nova's {NOVA_FILES[name][0]}: set $CONTAINER_CI_NOVA_DIR to a Nova checkout "
        f"(looked in: {', '.join(str(p) for p in places)})"
    )


def upstream_dir() -> Path:
    """Upstream repositories in Zuul's <org>/<repo> layout (their Zuul
    configurations, playbooks and roles at recorded commits), where `zuul up`
    finds them: $CONTAINER_CI_SHARED_UPSTREAM, or shared/upstream beside this
    repository or the one it was cloned from. The calling test is skipped
    when none has openstack/tempest."""
    from container_ci.localzuul.lifecycle import upstream_default

    found = upstream_default(REPO)
    if found is None or not (found / "openstack" / "tempest" / "zuul.d").is_dir():
        pytest.skip(
            "needs upstream repositories' Zuul configurations: set $CONTAINER_CI_SHARED_UPSTREAM "
            "(looked beside this checkout and the repository it was cloned from)"
        )
    return found
