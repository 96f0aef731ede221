"""The scenarios and the capability matrix shipped with container-ci, as
package data: an installed container-ci (a wheel, a tox env, a devstack's
tempest venv) finds them beside its code, wherever it was installed from.

They are read as files because errors name `file:line` and a tempest.conf
names the matrix by path; container-ci is installed unpacked, as wheels are."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from container_ci.errors import BadInput

MATRIX_NAME = "capabilities.yaml"


def _package_path(*parts: str) -> Path:
    return Path(str(resources.files("container_ci.scenarios").joinpath(*parts)))


def shipped_dir() -> Path:
    """Where the shipped scenario files are."""
    return _package_path("shipped")


def shipped_scenarios() -> list[Path]:
    """Every shipped scenario file, in name order."""
    return sorted(shipped_dir().glob("*.yaml"))


def shipped_names() -> list[str]:
    return [path.stem for path in shipped_scenarios()]


def default_matrix() -> Path:
    """The capability matrix: which operations each target and compute driver
    lacks, and why."""
    return _package_path(MATRIX_NAME)


def scenario_file(reference: str) -> Path:
    """A scenario file given by its path, or a shipped one by its name
    (`lifecycle` for the shipped lifecycle.yaml)."""
    path = Path(reference)
    if path.suffix in (".yaml", ".yml") or path.exists() or "/" in reference:
        return path
    shipped = shipped_dir() / f"{reference}.yaml"
    if shipped.is_file():
        return shipped
    raise BadInput(
        f"{reference}: no such scenario file, nor a shipped scenario "
        f"(shipped: {', '.join(shipped_names())})"
    )
