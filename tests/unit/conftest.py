"""Fixtures the unit tests share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from container_ci.stability.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A fresh stability store (SQLite) of the test's own."""
    with Store(f"sqlite:///{tmp_path / 'store.sqlite'}") as opened:
        yield opened
