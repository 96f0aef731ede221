"""`container-ci zuul check | move | exclude-list`: zuul.d/ is code."""

from __future__ import annotations

import argparse
from pathlib import Path

from container_ci.commands import options as opts


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "zuul",
        help="check and edit zuul.d/: Zuul's schema, references, playbooks, regexes, policy",
        description="The Zuul configuration is code: `check` validates it offline with Zuul's "
        "own schemas and this project's rules; `move` edits it in place keeping everything it "
        "does not change; `exclude-list` writes the tempest exclude lists from the matrix. "
        "Each works on the repository you are in (its git checkout) or the one --root names.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    _add_check(actions)
    move = actions.add_parser(
        "move",
        help="move a job to another pipeline, editing zuul.d in place (comments kept)",
    )
    move.add_argument("job")
    move.add_argument("--to", required=True, metavar="PIPELINE")
    move.add_argument("--voting", type=opts.boolean, metavar="true|false")
    move.add_argument("--zuul-dir", type=Path, metavar="DIR", help="default: zuul.d")
    opts.add_repository_option(move, "zuul.d/ is edited")
    move.set_defaults(run=run_move)
    exclude = actions.add_parser(
        "exclude-list", help="the tempest exclude list of a compute driver, from the matrix"
    )
    exclude.add_argument("--driver", required=True)
    exclude.add_argument(
        "--write", action="store_true", help="write jobs/exclude/DRIVER.txt instead of printing"
    )
    opts.add_repository_option(exclude, "jobs/exclude/ is written")
    exclude.set_defaults(run=run_exclude_list)
    names = actions.add_parser(
        "upstream-names",
        help="the names upstream repositories' Zuul configurations define, as the shipped list",
        description="Read the Zuul configuration of every <org>/<repo> under --upstream and "
        "print the jobs, project-templates, nodesets and semaphores they define, with the "
        "commits read (PROVENANCE or git HEAD): the list `zuul check` uses when it is not "
        "given the repositories. --write replaces the list shipped with container-ci.",
    )
    names.add_argument("--upstream", type=Path, required=True, metavar="DIR")
    names.add_argument("--write", action="store_true", help="write the shipped list")
    names.set_defaults(run=run_upstream_names)


def _add_check(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = actions.add_parser(
        "check",
        help="exit 1 with file:line: message for each problem",
        description="Check Zuul configuration files or zuul.d/ directories: each stanza against "
        "Zuul's own schema (the zuul package's configloader); every job, parent, template, "
        "nodeset and semaphore named is defined here or declared upstream; playbooks exist; "
        "for jobs running this project's Tempest plugin, test regexes and exclude-list "
        "entries match tests listed through stestr and the exclude list is the matrix's; no "
        "gate job is non-voting; each experimental job has a promotion policy entry.",
    )
    check.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="default: the zuul.d/ of the repository you are in",
    )
    check.add_argument(
        "--upstream",
        type=Path,
        metavar="DIR|FILE",
        help="where names defined upstream come from: a directory of upstream repositories "
        "in Zuul's <org>/<repo> layout (their zuul.yaml, zuul.d/, .zuul.yaml or .zuul.d/ are "
        "read; e.g. ../shared/upstream), or a names file (default: the lists shipped with "
        "container-ci, generated from those repositories)",
    )
    check.add_argument(
        "--root",
        type=Path,
        metavar="DIR",
        help="the repository of the checked configuration: where playbook paths and the "
        "jobs' exclude lists start (default: the directory holding zuul.d/ or the checked "
        "file)",
    )
    check.add_argument(
        "--no-files",
        action="store_true",
        help="do not check playbook files (configuration checked as data, without its repository)",
    )
    check.add_argument(
        "--policy",
        type=Path,
        metavar="FILE",
        help="promotion policy whose `jobs:` must list every experimental job (default: the "
        "repository's jobs/promotion.yaml when its own zuul.d/ is checked)",
    )
    check.set_defaults(run=run_check)


def run_check(args: argparse.Namespace) -> int:
    from container_ci.repository import Repository
    from container_ci.stability.policy import load_policy
    from container_ci.zuul.check import CheckOptions, UpstreamNames, check, configuration_root

    targets = args.paths or [opts.repository(args).zuul_dir]
    root = None if args.no_files else (args.root or configuration_root(targets[0]))
    policy = args.policy
    if policy is None and root is not None:
        own = Repository(root)
        if own.promotion_policy.is_file() and any(
            target.resolve() == own.zuul_dir.resolve() for target in targets
        ):
            policy = own.promotion_policy
    options = CheckOptions(
        upstream=UpstreamNames.load(args.upstream) if args.upstream else UpstreamNames.shipped(),
        root=root,
        policy_jobs=load_policy(policy).jobs if policy else None,
    )
    result = check(targets, options)
    for note in result.notes:
        print(f"zuul check: {note}")
    for problem in result.problems:
        print(problem)
    checked = ", ".join(str(t) for t in targets)
    if result.problems:
        print(f"zuul check: {len(result.problems)} problem(s) in {checked}")
        return 1
    print(f"zuul check: {checked}: OK")
    return 0


def run_move(args: argparse.Namespace) -> int:
    from container_ci.zuul.move import move_job

    zuul_dir = args.zuul_dir or opts.repository(args).zuul_dir
    moved = move_job([zuul_dir], args.job, args.to, args.voting)
    flag = "" if args.voting is None else f", voting: {str(args.voting).lower()}"
    print(
        f"{moved.path}: {moved.stanza}: {args.job} "
        f"{moved.from_pipeline} -> {moved.to_pipeline}{flag}"
    )
    return 0


def run_upstream_names(args: argparse.Namespace) -> int:
    from importlib import resources

    from container_ci.zuul import upstream
    from container_ci.zuul.check import UPSTREAM_NAMES

    command = f"container-ci zuul upstream-names --upstream {args.upstream} --write"
    defined = upstream.defined_names(upstream.find_repositories(args.upstream))
    text = upstream.names_yaml(defined, command)
    if not args.write:
        print(text, end="")
        return 0
    path = Path(str(resources.files("container_ci.zuul") / UPSTREAM_NAMES))
    path.write_text(text, encoding="utf-8")
    counts = ", ".join(f"{len(names)} {section}" for section, names in defined.names.items())
    print(f"wrote {path}: {counts}, from {defined.describe()}")
    return 0


def run_exclude_list(args: argparse.Namespace) -> int:
    from container_ci.zuul import plugin_tests

    if not args.write:
        print(plugin_tests.exclude_list(args.driver), end="")
        return 0
    path = plugin_tests.write_exclude_list(opts.repository(args), args.driver)
    print(f"wrote {path}")
    return 0
