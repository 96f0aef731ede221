"""The git repositories the local Zuul reads: bare repos under `<state>/git`
(the `git` connection's baseurl), one commit each, rewritten by every `up`.

- `openstack/container-ci`: this repository's WORKING TREE, tracked files
  with their uncommitted changes (a temporary index: nothing of the
  checkout, its index or its refs changes), so a local change to `zuul.d/`
  is what the scheduler loads;
- each upstream repository of `--upstream DIR` (a plain copy with a
  PROVENANCE file, not a git repository): one commit "snapshot of
  <org>/<repo> at <commit>";
- the generated config project, from a directory of files;
- an empty stand-in (`include: []` in the tenant) for every other project
  a job names in `required-projects` or `roles`, so that no job fails to
  load for a project this machine has no copy of.

A snapshot whose tree did not change makes no commit (Zuul sees no update)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from container_ci.errors import BadInput
from container_ci.localzuul.errors import ZuulError
from container_ci.localzuul.layout import CANONICAL_HOSTNAME
from container_ci.yaml_source import load_yaml
from container_ci.zuul.upstream import CONFIG_PLACES

AUTHOR = {
    "GIT_AUTHOR_NAME": "container-ci",
    "GIT_AUTHOR_EMAIL": "container-ci@localhost",
    "GIT_COMMITTER_NAME": "container-ci",
    "GIT_COMMITTER_EMAIL": "container-ci@localhost",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00Z",
}


def git(args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    """git with a clean environment of ours (never the caller's GIT_DIR)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    done = subprocess.run(
        ["git", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**base, **AUTHOR, **(env or {})},
        cwd=cwd,
    )
    if done.returncode != 0:
        raise ZuulError(f"git {' '.join(args[:3])} failed: {done.stderr.strip()[-300:]}")
    return done.stdout.strip()


def ensure_bare(path: Path) -> None:
    if not (path / "HEAD").exists():
        path.mkdir(parents=True, exist_ok=True)
        git(["init", "--quiet", "--bare", "--initial-branch=master", str(path)])


def _head(bare: Path) -> str | None:
    done = subprocess.run(
        ["git", "--git-dir", str(bare), "rev-parse", "--verify", "--quiet", "refs/heads/master"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or None


def master(bare: Path) -> str | None:
    """The commit of the repository's master, if any."""
    return _head(bare)


def parent(bare: Path, commit: str) -> str | None:
    """The first parent of `commit`, None for a root commit."""
    done = subprocess.run(
        ["git", "--git-dir", str(bare), "rev-parse", "--verify", "--quiet", f"{commit}^"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return done.stdout.strip() or None


def commit_tree(bare: Path, tree: str, message: str) -> bool:
    """Make `tree` master's content with one commit on top; False if it already was."""
    parent = _head(bare)
    if (
        parent is not None
        and git(["--git-dir", str(bare), "rev-parse", f"{parent}^{{tree}}"]) == tree
    ):
        return False
    if parent is None:
        # A root commit with no files first: every snapshot then has a
        # parent, and an enqueue names a real old revision (an all-zero one
        # is a branch creation, which Zuul 14.3's git driver cannot enqueue).
        empty = subprocess.run(
            ["git", "--git-dir", str(bare), "mktree"],
            input="", capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        parent = git(["--git-dir", str(bare), "commit-tree", empty, "-m", "repository created"])
    commit = git(["--git-dir", str(bare), "commit-tree", tree, "-m", message, "-p", parent])
    git(["--git-dir", str(bare), "update-ref", "refs/heads/master", commit])
    return True


def snapshot_directory(bare: Path, source: Path, message: str) -> bool:
    """Every file of `source` (a plain directory, only read) as master's tree."""
    ensure_bare(bare)
    with tempfile.TemporaryDirectory() as scratch:
        env = {
            "GIT_DIR": str(bare),
            "GIT_WORK_TREE": str(source),
            "GIT_INDEX_FILE": str(Path(scratch) / "index"),
        }
        git(["add", "--all", "--force", "."], env=env, cwd=source)
        tree = git(["write-tree"], env=env, cwd=source)
    return commit_tree(bare, tree, message)


def snapshot_working_tree(bare: Path, checkout: Path) -> str:
    """The checkout's tracked files as they are now (uncommitted changes
    included) as master of `bare`; returns a description of what was taken.
    Objects go to the bare repository only (the checkout's are its alternates)."""
    ensure_bare(bare)
    head = git(["-C", str(checkout), "rev-parse", "HEAD"])
    with tempfile.TemporaryDirectory() as scratch:
        env = {
            "GIT_INDEX_FILE": str(Path(scratch) / "index"),
            "GIT_OBJECT_DIRECTORY": str(bare / "objects"),
            "GIT_ALTERNATE_OBJECT_DIRECTORIES": git(
                [
                    "-C",
                    str(checkout),
                    "rev-parse",
                    "--path-format=absolute",
                    "--git-path",
                    "objects",
                ]
            ),
        }
        git(["read-tree", "HEAD"], env=env, cwd=checkout)
        git(["add", "--update", "."], env=env, cwd=checkout)
        tree = git(["write-tree"], env=env, cwd=checkout)
        changed = git(["diff-index", "--cached", "--name-only", "HEAD"], env=env, cwd=checkout)
    # The trees and blobs of HEAD live in the checkout's store: copy what the
    # new tree needs, so the bare repository stands alone.
    _copy_tree_objects(bare, checkout, tree)
    local = f" + {len(changed.splitlines())} uncommitted file(s)" if changed else ""
    commit_tree(bare, tree, f"working tree of {checkout} at {head[:12]}{local}")
    return f"{head[:12]}{local}"


def _copy_tree_objects(bare: Path, checkout: Path, tree: str) -> None:
    objects = git(
        ["-C", str(checkout), "rev-parse", "--path-format=absolute", "--git-path", "objects"]
    )
    env = {"GIT_ALTERNATE_OBJECT_DIRECTORIES": objects}
    listed = git(
        ["--git-dir", str(bare), "rev-list", "--objects", "--no-object-names", tree], env=env
    )
    with tempfile.TemporaryDirectory() as scratch:
        pack = subprocess.run(
            ["git", "--git-dir", str(bare), "pack-objects", "--quiet", str(Path(scratch) / "p")],
            input=listed + "\n",
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            check=False,
        )
        if pack.returncode != 0:
            raise ZuulError(f"git pack-objects failed: {pack.stderr.strip()[-300:]}")
        for packed in Path(scratch).glob("p-*"):
            target = bare / "objects" / "pack" / packed.name
            shutil.move(str(packed), target)


# The files a stand-in must have for the jobs that read them. openstack-tox
# (the parent of openstack-tox-py311 and -pep8) sets tox_constraints_file to
# requirements' upper-constraints.txt, and zuul-jobs' tox role fails when it
# is missing: here it constrains nothing (the tox envs install what this
# repository's pyproject.toml allows, as a local `tox` run does).
STAND_IN_FILES: dict[str, dict[str, str]] = {
    "openstack/requirements": {
        "upper-constraints.txt": "# container-ci local Zuul stand-in for openstack/requirements:\n"
        "# no constraints.\n",
    },
}


# stat's `get_md5` option left ansible-core in 2.16 (Ansible 9): both
# Ansible versions Zuul 14.3 runs refuse a task that passes it ("Unsupported
# parameters for (stat) module: get_md5"). zuul-jobs dropped it upstream in
# 2023; the copy this machine has (a fork of November 2022, the newest
# public one) still passes it in 18 stat tasks, the tox role's among them,
# so every tox job failed before running tox. Snapshots of these
# repositories leave those lines out, and their commit message says so.
GET_MD5 = re.compile(r"^[ \t]*get_md5:[^\n]*\n", re.MULTILINE)
COMPAT_FIXED = frozenset({"zuul/zuul-jobs"})


def without_get_md5(source: Path, target: Path) -> int:
    """Copy `source` to `target` with every `get_md5:` line of its YAML
    files removed; how many lines went."""
    shutil.copytree(source, target, symlinks=True)
    removed = 0
    for path in sorted(target.rglob("*")):
        if path.suffix in (".yaml", ".yml") and path.is_file() and not path.is_symlink():
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
            fixed, count = GET_MD5.subn("", text)
            if count:
                path.write_text(fixed, encoding="utf-8", errors="surrogateescape")
                removed += count
    return removed


def snapshot_upstream(bare: Path, name: str, source: Path, message: str) -> bool:
    """An upstream copy as master (`snapshot_directory`), with the
    compatibility fix of COMPAT_FIXED repositories applied and named."""
    if name not in COMPAT_FIXED:
        return snapshot_directory(bare, source, message)
    with tempfile.TemporaryDirectory() as scratch:
        fixed = Path(scratch) / "copy"
        removed = without_get_md5(source, fixed)
        note = f" + {removed} stat get_md5 line(s) removed (ansible-core >= 2.16)"
        return snapshot_directory(bare, fixed, message + (note if removed else ""))


def empty_repository(bare: Path, project: str) -> bool:
    """A stand-in: one commit with a README saying what it stands in for
    (and the files of STAND_IN_FILES that jobs read from it)."""
    with tempfile.TemporaryDirectory() as scratch:
        Path(scratch, "README").write_text(
            f"Empty stand-in for {project}: a job of the local Zuul's tenant names it.\n"
        )
        for name, text in STAND_IN_FILES.get(project, {}).items():
            Path(scratch, name).write_text(text)
        return snapshot_directory(bare, Path(scratch), f"stand-in for {project}")


# -- what the configurations name ----------------------------------------------


def config_files(repo: Path) -> list[Path]:
    """The Zuul configuration files of a repository, in Zuul's place order
    (the first place found)."""
    for place in CONFIG_PLACES:
        candidate = repo / place
        if candidate.is_file():
            return [candidate]
        if candidate.is_dir():
            return sorted(p for p in candidate.rglob("*.yaml") if p.is_file())
    return []


def stanzas(repo: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for path in config_files(repo):
        try:  # round-trip YAML keeps Zuul's tags (!encrypted/..., !inherit) as data
            document = load_yaml(path)
        except BadInput:
            continue  # Zuul reports it as a configuration error
        for item in document if isinstance(document, list) else []:
            if isinstance(item, dict) and len(item) == 1:
                kind, body = next(iter(item.items()))
                if isinstance(body, dict):
                    yield str(kind), body


def project_name(name: str) -> str | None:
    """`opendev.org/openstack/nova` and `openstack/nova` -> `openstack/nova`;
    None for a name Zuul cannot resolve here (a template, another host)."""
    if "{" in name or not name.strip():
        return None
    parts = name.strip().split("/")
    if len(parts) >= 3 and "." in parts[0]:
        if parts[0] != CANONICAL_HOSTNAME:
            return None
        parts = parts[1:]
    return "/".join(parts) if len(parts) >= 2 else None


def named_projects(repos: Iterable[Path]) -> set[str]:
    """Projects jobs name in `required-projects` and `roles` (zuul: ...)."""
    names: set[str] = set()
    for repo in repos:
        for kind, body in stanzas(repo):
            if kind != "job":
                continue
            for entry in _as_list(body.get("required-projects")):
                raw = entry.get("name") if isinstance(entry, dict) else entry
                name = project_name(str(raw)) if raw else None
                if name:
                    names.add(name)
            for role in _as_list(body.get("roles")):
                raw = role.get("zuul") if isinstance(role, dict) else None
                name = project_name(str(raw)) if raw else None
                if name:
                    names.add(name)
    return names


def nodeset_names(repos: Iterable[Path]) -> tuple[set[str], set[str], set[str]]:
    """(nodesets jobs name, nodesets defined, labels the defined ones use)."""
    used: set[str] = set()
    defined: set[str] = set()
    labels: set[str] = set()
    for repo in repos:
        for kind, body in stanzas(repo):
            if kind == "job":
                nodeset = body.get("nodeset")
                if isinstance(nodeset, str):
                    used.add(nodeset)
                elif isinstance(nodeset, dict):
                    labels.update(_labels(nodeset))
            elif kind == "nodeset" and isinstance(body.get("name"), str):
                defined.add(body["name"])
                labels.update(_labels(body))
                for alternative in _as_list(body.get("alternatives")):
                    if isinstance(alternative, str):
                        used.add(alternative)
    return used, defined, labels


def _labels(nodeset: dict[str, Any]) -> set[str]:
    return {
        str(node["label"])
        for node in _as_list(nodeset.get("nodes"))
        if isinstance(node, dict) and isinstance(node.get("label"), str)
    }


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
