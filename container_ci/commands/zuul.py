"""`container-ci zuul check | move | exclude-list | upstream-names`: zuul.d/ is code;
`container-ci zuul up | down | status | logs | enqueue`: a real Zuul on this machine."""

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
    _add_local(actions)


def _add_local(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The local Zuul: a real Zuul 14 on 127.0.0.1 (container_ci.localzuul)."""
    up = actions.add_parser(
        "up",
        help="install and start a real Zuul on 127.0.0.1 loading this working tree",
        description="Install (once) and start ZooKeeper, PostgreSQL, an sshd as the static "
        "node, zuul-scheduler, -executor, -launcher, -web and a log server, all on 127.0.0.1 "
        "(ports 24601-24606); tenant `local` loads this repository's working tree as "
        "openstack/container-ci and the upstream repositories. State: DATA_DIR/zuul.",
    )
    up.add_argument(
        "--upstream",
        type=Path,
        metavar="DIR",
        help="upstream repositories in Zuul's <org>/<repo> layout (default: ../shared/upstream "
        "next to the repository, if there)",
    )
    up.add_argument(
        "--periodic-time",
        metavar="CRON",
        help="give the periodic pipeline this timer, e.g. '0 3 * * *' (default: none; its "
        "jobs would run on this machine and container-ci-stability reads zuul.opendev.org)",
    )
    opts.add_repository_option(up, "the working tree loaded as openstack/container-ci")
    up.set_defaults(run=run_local_up)
    down = actions.add_parser("down", help="stop the local Zuul's processes (by pid)")
    down.add_argument(
        "--purge", action="store_true", help="also remove its state (keeps Zuul's venv and Ansible)"
    )
    down.set_defaults(run=run_local_down)
    status = actions.add_parser("status", help="each process of the local Zuul: pid, port, health")
    status.set_defaults(run=run_local_status)
    logs = actions.add_parser("logs", help="the last lines of the local Zuul's logs")
    logs.add_argument("name", nargs="?", help="one process (default: every one)")
    logs.add_argument("-n", "--lines", type=opts.positive_int, default=20)
    logs.set_defaults(run=run_local_logs)
    enqueue = actions.add_parser(
        "enqueue",
        help="run a pipeline for a project's master in the local Zuul and wait for the result",
        description="Enqueue the project's current master (zuul-client enqueue-ref with an "
        "operator token), wait for the buildset, print each build's result and log_url; exit "
        "0 if every build succeeded. With --job, refuse unless that is the only job to run.",
    )
    enqueue.add_argument("--pipeline", required=True)
    enqueue.add_argument("--project", default="openstack/container-ci")
    enqueue.add_argument("--job", help="the job expected to run (the only one)")
    enqueue.add_argument("--timeout", type=opts.positive_int, default=1800, metavar="SECONDS")
    enqueue.set_defaults(run=run_local_enqueue)


def _add_check(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = actions.add_parser(
        "check",
        help="exit 1 with file:line: message for each problem",
        description="Check Zuul configuration files or zuul.d/ directories: each stanza against "
        "Zuul's own schema (the zuul package's configloader); every job, parent, template, "
        "nodeset and semaphore named is defined here or declared upstream; playbooks exist; "
        "for jobs running this project's Tempest plugin, test regexes and exclude-list "
        "entries match tests listed through stestr and the exclude list is the matrix's; no "
        "gate job is non-voting; each experimental job has a promotion policy entry; with "
        "the policy, each of its jobs beyond experimental has reports/<job>.md, and no "
        "classified signature nor capability gap is past its expiry (a gap needs a reason).",
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
    check.add_argument(
        "--scheduler",
        action="store_true",
        help="also load the repository into the local Zuul (`container-ci zuul up` first) and "
        "report the configuration errors its scheduler finds, as file:line: message",
    )
    check.set_defaults(run=run_check)


def _say(text: str) -> None:
    print(text, flush=True)


def run_local_up(args: argparse.Namespace) -> int:
    from container_ci.localzuul import lifecycle
    from container_ci.localzuul.layout import Layout

    checkout = opts.repository(args).root
    upstream = args.upstream or lifecycle.upstream_default(checkout)
    lifecycle.up(Layout.default(), checkout, upstream, _say, args.periodic_time)
    return 0


def run_local_down(args: argparse.Namespace) -> int:
    from container_ci.localzuul import lifecycle
    from container_ci.localzuul.layout import Layout

    lifecycle.down(Layout.default(), _say, purge=args.purge)
    return 0


def run_local_status(args: argparse.Namespace) -> int:
    from container_ci.localzuul import lifecycle
    from container_ci.localzuul.layout import Layout

    layout = Layout.default()
    rows = lifecycle.status(layout)
    print(f"{'PROCESS':<16} {'STATE':<14} {'PID':>7} {'PORT':>6}")
    for row in rows:
        pid = str(row.pid) if row.pid else "-"
        port = str(row.port) if row.port else "-"
        print(f"{row.name:<16} {row.health:<14} {pid:>7} {port:>6}")
    running = sum(row.health == "running" for row in rows)
    print(f"{running}/{len(rows)} running; state {layout.root}")
    return 0 if running == len(rows) else 1


def run_local_logs(args: argparse.Namespace) -> int:
    from container_ci.cloud import processes
    from container_ci.errors import BadInput
    from container_ci.localzuul.layout import Layout
    from container_ci.localzuul.services import SERVICES

    layout = Layout.default()
    names = [s.name for s in SERVICES]
    if args.name and args.name not in names:
        raise BadInput(f"no process {args.name!r} (processes: {', '.join(names)})")
    for name in [args.name] if args.name else names:
        path = layout.logfile(name)
        print(f"==> {path} <==")
        for line in processes.tail(path, args.lines):
            print(line)
    return 0


def run_local_enqueue(args: argparse.Namespace) -> int:
    from container_ci.localzuul import enqueue, lifecycle
    from container_ci.localzuul.layout import Layout

    layout = Layout.default()
    lifecycle.require_running(layout)
    done = enqueue.enqueue(layout, args.pipeline, args.project, args.job, _say, args.timeout)
    for build in done.builds:
        print(f"{build.job}: {build.result} {build.log_url or '(no log_url)'}")
    print(f"buildset {done.buildset}: {done.result} in {done.seconds:.0f}s")
    return 0 if done.ok else 1


def run_check(args: argparse.Namespace) -> int:
    from container_ci.repository import Repository
    from container_ci.scenarios import catalogue
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
    loaded = load_policy(policy) if policy else None
    options = CheckOptions(
        upstream=UpstreamNames.load(args.upstream) if args.upstream else UpstreamNames.shipped(),
        root=root,
        policy_jobs=loaded.jobs if loaded else None,
        policy=loaded,
        # With the policy, this project's own configuration: its gaps too.
        capabilities=catalogue.default_matrix() if loaded else None,
    )
    result = check(targets, options)
    for note in result.notes:
        print(f"zuul check: {note}")
    problems = [str(problem) for problem in result.problems]
    if args.scheduler:
        problems += _scheduler_problems(args, root or configuration_root(targets[0]))
    for problem in problems:
        print(problem)
    checked = ", ".join(str(t) for t in targets)
    if problems:
        print(f"zuul check: {len(problems)} problem(s) in {checked}")
        return 1
    print(f"zuul check: {checked}: OK")
    return 0


def _scheduler_problems(args: argparse.Namespace, root: Path) -> list[str]:
    """Load `root` into the running local Zuul as openstack/container-ci and
    say what its scheduler found there, file:line: message."""
    from container_ci.localzuul import api, lifecycle
    from container_ci.localzuul.layout import OWN_PROJECT, Layout

    layout = Layout.default()
    lifecycle.require_running(layout)
    upstream = args.upstream if args.upstream and args.upstream.is_dir() else None
    lifecycle.up(layout, root, upstream or lifecycle.upstream_default(root), lambda _text: None)
    return [
        f"{root / error.path if error.path else root}:{error.line}: zuul-scheduler: {error.message}"
        for error in api.project_config_errors(layout, OWN_PROJECT)
    ]


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
