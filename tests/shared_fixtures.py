"""Where the real-world data for tests lives: `../shared/fixtures` beside the
repository (read from there, never copied in). A clone elsewhere finds it
through $CONTAINER_CI_SHARED_FIXTURES or beside the repository it was cloned
from."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _origin_dir() -> Path | None:
    done = subprocess.run(
        ["git", "-C", str(REPO), "config", "--get", "remote.origin.url"],
        capture_output=True,
        text=True,
        check=False,
    )
    url = done.stdout.strip()
    if done.returncode != 0 or not url or "://" in url or ":" in url.split("/")[0]:
        return None  # only a local path can have a ../shared beside it
    return Path(url).resolve()


def shared_fixtures() -> Path:
    candidates = []
    if os.environ.get("CONTAINER_CI_SHARED_FIXTURES"):
        candidates.append(Path(os.environ["CONTAINER_CI_SHARED_FIXTURES"]))
    candidates.append(REPO.parent / "shared" / "fixtures")
    origin = _origin_dir()
    if origin is not None:
        candidates.append(origin.parent / "shared" / "fixtures")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[0]
