"""The `container-ci zuul` actions: defaults, printing, exit codes."""

from __future__ import annotations

from pathlib import Path

from container_ci import paths
from container_ci.errors import BadInput
from container_ci.yaml_source import load_yaml, to_plain
from container_ci.zuul import plugin_tests
from container_ci.zuul.check import CheckOptions, UpstreamNames, check_config, has_playbook_tree
from container_ci.zuul.config import load_config
from container_ci.zuul.move import move_job


def _policy_jobs(path: Path) -> dict[str, str]:
    document = to_plain(load_yaml(path)) or {}
    jobs = document.get("jobs") if isinstance(document, dict) else None
    if not isinstance(jobs, dict):
        raise BadInput(f"{path}:1: the promotion policy needs a `jobs:` mapping (job: stage)")
    return jobs


def run_check(
    targets: list[Path],
    upstream: Path | None,
    root: Path | None,
    no_files: bool,
    policy: Path | None,
) -> int:
    repo = paths.repo_root()
    own_zuul_dir = repo / "zuul.d"
    targets = targets or [own_zuul_dir]
    first = targets[0].resolve()
    if root is None and not no_files:
        root = first.parent if first.is_dir() or first.name != ".zuul.yaml" else first.parent
        if first.is_file() and first.parent.name in ("zuul.d", ".zuul.d"):
            root = first.parent.parent
    if policy is None and any(t.resolve() == own_zuul_dir.resolve() for t in targets):
        policy = repo / "jobs" / "promotion.yaml"
    config = load_config(targets)
    if root is not None and not no_files and not has_playbook_tree(config, root):
        print(
            f"zuul check: playbooks not checked: {root} holds none of the directories they "
            "are in (configuration checked as data; --root names the repository)"
        )
        root = None
    options = CheckOptions(
        upstream=UpstreamNames.load(upstream or repo / "jobs" / "upstream-names.yaml"),
        root=None if no_files else root,
        policy_jobs=_policy_jobs(policy) if policy else None,
        repo=repo,
    )
    problems = check_config(config, options)
    for problem in problems:
        print(problem)
    checked = ", ".join(str(t) for t in targets)
    if problems:
        print(f"zuul check: {len(problems)} problem(s) in {checked}")
        return 1
    print(f"zuul check: {checked}: OK")
    return 0


def run_move(job: str, to: str, voting: bool | None, zuul_dir: Path | None) -> int:
    moved = move_job([zuul_dir or paths.repo_root() / "zuul.d"], job, to, voting)
    flag = "" if voting is None else f", voting: {str(voting).lower()}"
    print(f"{moved.path}: {moved.stanza}: {job} {moved.from_pipeline} -> {moved.to_pipeline}{flag}")
    return 0


def run_exclude_list(driver: str, write: bool) -> int:
    text = plugin_tests.exclude_list(driver)
    if not write:
        print(text, end="")
        return 0
    path = paths.repo_root() / "jobs" / "exclude" / f"{driver}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0
