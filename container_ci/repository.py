"""The repository a command reads and edits: the git checkout the user
stands in, or the one `--root` names. Its zuul.d/ and jobs/ (the promotion
policy, the tempest exclude lists, the playbooks) are the files `zuul
check`, `zuul move`, `zuul exclude-list`, `devstack-config` and `stability
decide --apply` work on; never the tree container-ci happens to be installed
from, so an installed container-ci edits the clone in front of the user."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from container_ci.errors import BadInput


@dataclass(frozen=True)
class Repository:
    root: Path

    @classmethod
    def find(cls, root: Path | None = None, start: Path | None = None) -> Repository:
        """`root` when given, else the top level of the git checkout holding
        `start` (the current directory): the nearest directory upwards with
        a `.git` (a directory, or a file in a worktree or submodule)."""
        if root is not None:
            if not root.is_dir():
                raise BadInput(f"--root {root}: no such directory")
            return cls(root.resolve())
        here = (start or Path.cwd()).resolve()
        for directory in (here, *here.parents):
            if (directory / ".git").exists():
                return cls(directory)
        raise BadInput(
            f"{here} is not inside a git checkout: run this from your clone of the "
            "repository, or name it with --root DIR"
        )

    @property
    def zuul_dir(self) -> Path:
        return self.root / "zuul.d"

    @property
    def jobs_dir(self) -> Path:
        return self.root / "jobs"

    @property
    def promotion_policy(self) -> Path:
        return self.jobs_dir / "promotion.yaml"

    def exclude_list(self, driver: str) -> Path:
        """The tempest exclude list of a compute driver, as the jobs name it."""
        return self.jobs_dir / "exclude" / f"{driver}.txt"
