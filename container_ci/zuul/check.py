"""`container-ci zuul check`: everything Zuul would reject, and what this
project's rules forbid, as `file:line: message`.

- every stanza against Zuul's own schema (from the zuul package);
- every job, parent, template, nodeset and semaphore named is defined in the
  checked configuration or upstream: in the repositories `--upstream DIR`
  holds (their real Zuul configurations, zuul/upstream.py), else in the list
  generated from them and shipped (zuul/upstream-names.yaml, plus
  zuul/unavailable-names.yaml for repositories not available here);
- every playbook a job names exists (unless the configuration is checked as
  data, without its repository: `--no-files`);
- for jobs running this project's Tempest plugin: the test regexes compile
  and match some of the plugin's tests (listed through stestr), every entry
  of their exclude list matches a test, and the list is the one the
  capability matrix generates;
- no job in a gate pipeline is non-voting, and every job in an experimental
  pipeline has an entry in the promotion policy;
- with the policy: every policy job placed beyond experimental has its
  evidence in reports/<job>.md, and no classified signature of the policy
  nor gap of the capability matrix is past its expiry or (a gap) without a
  reason (promotion_check.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from container_ci.errors import BadInput
from container_ci.yaml_source import load_yaml, to_plain
from container_ci.zuul import plugin_tests
from container_ci.zuul import upstream as upstream_repositories
from container_ci.zuul.config import Problem, Stanza, ZuulConfig, load_config
from container_ci.zuul.schema import schema_problems

if TYPE_CHECKING:
    from container_ci.stability.policy import Policy

PLUGIN_NAME = "container-ci"
UPSTREAM_NAMES = "upstream-names.yaml"
UNAVAILABLE_NAMES = "unavailable-names.yaml"
PLAYBOOK_KEYS = ("pre-run", "run", "post-run", "cleanup-run")
REGEX_VARS = ("tempest_test_regex", "tempest_exclude_regex")
PROJECT_SRC_MARK = re.compile(r"\.src_dir\s*}}/(?P<path>\S+?)'?$")
NOT_PIPELINES = {
    "name",
    "description",
    "templates",
    "merge-mode",
    "default-branch",
    "vars",
    "queue",
    "branches",
}


@dataclass(frozen=True)
class UpstreamNames:
    jobs: frozenset[str] = frozenset()
    templates: frozenset[str] = frozenset()
    nodesets: frozenset[str] = frozenset()
    semaphores: frozenset[str] = frozenset()
    where: str = "declared upstream"  # for messages: where a name was looked for

    @classmethod
    def shipped(cls) -> UpstreamNames:
        """The lists shipped with container-ci: the one generated from real
        upstream configurations and the one of repositories not available."""
        package = resources.files("container_ci.zuul")
        generated = cls.load(Path(str(package / UPSTREAM_NAMES)))
        return generated | cls.unavailable()

    @classmethod
    def unavailable(cls, present: frozenset[str] = frozenset()) -> UpstreamNames:
        """The shipped names of repositories not available here
        (zuul/unavailable-names.yaml), less those of the `present` ones."""
        path = Path(str(resources.files("container_ci.zuul") / UNAVAILABLE_NAMES))
        document = to_plain(load_yaml(path)) or {}
        names = cls()
        for repository, sections in document.items():
            if repository not in present:
                names = names | cls.from_sections(sections)
        return names

    @classmethod
    def load(cls, path: Path) -> UpstreamNames:
        """A names file, or (a directory) the repositories in it."""
        if path.is_dir():
            return cls.from_repositories(path)
        document = to_plain(load_yaml(path)) or {}
        if not isinstance(document, dict):
            raise BadInput(f"{path}:1: expected a mapping of jobs, project-templates, nodesets")
        return cls.from_sections(document)

    @classmethod
    def from_sections(cls, document: dict[str, Any]) -> UpstreamNames:
        return cls(
            jobs=frozenset(document.get("jobs") or ()),
            templates=frozenset(document.get("project-templates") or ()),
            nodesets=frozenset(document.get("nodesets") or ()),
            semaphores=frozenset(document.get("semaphores") or ()),
        )

    @classmethod
    def from_repositories(cls, directory: Path) -> UpstreamNames:
        """What the Zuul configurations of the repositories under `directory`
        (<org>/<repo>) define, and the shipped names of repositories it does
        not hold (opendev/base-jobs has no public copy)."""
        repositories = upstream_repositories.find_repositories(directory)
        defined = upstream_repositories.defined_names(repositories)
        read = cls(
            jobs=defined.names["jobs"],
            templates=defined.names["project-templates"],
            nodesets=defined.names["nodesets"],
            semaphores=defined.names["semaphores"],
            where=f"in the repositories of {directory} (nor declared for others)",
        )
        return read | cls.unavailable(frozenset(r.name for r in repositories))

    def __or__(self, other: UpstreamNames) -> UpstreamNames:
        return UpstreamNames(
            self.jobs | other.jobs,
            self.templates | other.templates,
            self.nodesets | other.nodesets,
            self.semaphores | other.semaphores,
            self.where,
        )


@dataclass(frozen=True)
class CheckOptions:
    upstream: UpstreamNames = field(default_factory=UpstreamNames)
    # The repository holding the configuration: playbooks and the jobs' other
    # files (exclude lists) are looked up under it. None: the configuration
    # is checked as data, without its files.
    root: Path | None = None
    policy_jobs: dict[str, str] | None = None  # job -> stage; None: no policy check
    # The policy itself (expired classified signatures); with `root`, its jobs
    # beyond experimental need reports/<job>.md there.
    policy: Policy | None = None
    capabilities: Path | None = None  # the capability matrix whose gaps are checked
    today: date = field(default_factory=date.today)  # expiry dates are judged against it


@dataclass(frozen=True)
class CheckResult:
    problems: list[Problem]
    notes: list[str]  # what was not checked, and why


def check(paths: Sequence[Path], options: CheckOptions) -> CheckResult:
    """Load and check; a configuration whose playbooks are not under
    `options.root` (a copy of another project's, kept as data) is checked
    without them, and the result says so."""
    config = load_config(paths)
    notes: list[str] = []
    if options.root is not None and not has_playbook_tree(config, options.root):
        notes.append(
            f"playbooks not checked: {options.root} holds none of the directories they are "
            "in (configuration checked as data; --root names the repository)"
        )
        options = replace(options, root=None)
    return CheckResult(check_config(config, options), notes)


def check_config(config: ZuulConfig, options: CheckOptions) -> list[Problem]:
    problems = list(config.problems)
    for stanza in config.stanzas:
        problems += schema_problems(stanza)
    problems += _references(config, options.upstream)
    if options.root is not None:
        problems += _playbooks(config, options.root)
    problems += _plugin_regexes(config, options.root)
    problems += _pipeline_rules(config, options.policy_jobs)
    problems += _promotion_rules(config, options)
    return sorted(set(problems), key=lambda p: (str(p.path), p.line, p.message))


def _promotion_rules(config: ZuulConfig, options: CheckOptions) -> list[Problem]:
    from container_ci.zuul import promotion_check

    problems: list[Problem] = []
    policy_jobs = options.policy.jobs if options.policy else options.policy_jobs
    if policy_jobs is not None and options.root is not None:
        problems += promotion_check.missing_evidence(config, policy_jobs, options.root)
    if options.policy is not None:
        problems += promotion_check.expired_classifications(options.policy, options.today)
    if options.capabilities is not None:
        problems += promotion_check.capability_gaps(options.capabilities, options.today)
    return problems


# -- references -------------------------------------------------------------
def _references(config: ZuulConfig, upstream: UpstreamNames) -> list[Problem]:
    jobs = set(config.named("job")) | upstream.jobs
    templates = set(config.named("project-template")) | upstream.templates
    nodesets = set(config.named("nodeset")) | upstream.nodesets
    semaphores = set(config.named("semaphore")) | upstream.semaphores
    problems: list[Problem] = []

    def need(
        stanza: Stanza, location: list[str | int], kind: str, name: Any, known: set[str]
    ) -> None:
        if isinstance(name, str) and name not in known:
            problems.append(
                stanza.problem(
                    location,
                    f"{stanza.label}: {kind} {name!r} is not defined here nor {upstream.where}",
                )
            )

    def job_attributes(stanza: Stanza, attrs: dict[str, Any], location: list[str | int]) -> None:
        need(stanza, [*location, "parent"], "parent", attrs.get("parent"), jobs)
        need(stanza, [*location, "nodeset"], "nodeset", attrs.get("nodeset"), nodesets)
        for key in ("semaphore", "semaphores"):
            for index, item in enumerate(_as_list(attrs.get(key))):
                name = item.get("name") if isinstance(item, dict) else item
                need(stanza, [*location, key, index], "semaphore", name, semaphores)
        for index, item in enumerate(_as_list(attrs.get("dependencies"))):
            name = item.get("name") if isinstance(item, dict) else item
            need(stanza, [*location, "dependencies", index], "dependency", name, jobs)

    for stanza in config.of_kind("job"):
        job_attributes(stanza, stanza.body, [])
    for stanza in [*config.of_kind("project"), *config.of_kind("project-template")]:
        for index, name in enumerate(_as_list(stanza.body.get("templates"))):
            need(stanza, ["templates", index], "project-template", name, templates)
        for pipeline, index, name, attrs in pipeline_jobs(stanza):
            location: list[str | int] = [pipeline, "jobs", index]
            need(stanza, location, "job", name, jobs)
            job_attributes(stanza, attrs, [*location, name])
    return problems


def pipeline_jobs(stanza: Stanza) -> Iterator[tuple[str, int, str, dict[str, Any]]]:
    """(pipeline, index, job name, attributes) of each job a project lists."""
    for pipeline, contents in stanza.body.items():
        if pipeline in NOT_PIPELINES or not isinstance(contents, dict):
            continue
        for index, entry in enumerate(_as_list(contents.get("jobs"))):
            if isinstance(entry, str):
                yield pipeline, index, entry, {}
            elif isinstance(entry, dict) and len(entry) == 1:
                ((name, attrs),) = entry.items()
                yield pipeline, index, str(name), attrs if isinstance(attrs, dict) else {}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# -- playbooks ----------------------------------------------------------------
def referenced_playbooks(config: ZuulConfig) -> set[str]:
    found = set()
    for stanza in config.of_kind("job"):
        for key in PLAYBOOK_KEYS:
            for item in _as_list(stanza.body.get(key)):
                name = item.get("name") if isinstance(item, dict) else item
                if isinstance(name, str):
                    found.add(name)
    return found


def configuration_root(path: Path) -> Path:
    """The repository a configuration is in, as Zuul reads it: the parent of
    a zuul.d/ (or .zuul.d/) directory or of a file in one, the directory of
    a .zuul.yaml or zuul.yaml."""
    path = path.resolve()
    if path.is_file() and path.parent.name in ("zuul.d", ".zuul.d"):
        return path.parent.parent
    return path.parent


def has_playbook_tree(config: ZuulConfig, root: Path) -> bool:
    """Whether `root` looks like the repository the playbooks live in: some
    referenced playbook's top directory exists there. A configuration kept as
    data (a copy of another project's .zuul.yaml) has none."""
    tops = {Path(name).parts[0] for name in referenced_playbooks(config) if Path(name).parts}
    return not tops or any((root / top).is_dir() for top in tops)


def _playbooks(config: ZuulConfig, root: Path) -> list[Problem]:
    problems: list[Problem] = []
    for stanza in config.of_kind("job"):
        for key in PLAYBOOK_KEYS:
            for index, item in enumerate(_as_list(stanza.body.get(key))):
                name = item.get("name") if isinstance(item, dict) else item
                if isinstance(name, str) and not (root / name).is_file():
                    location: list[str | int] = (
                        [key, index] if isinstance(stanza.body.get(key), list) else [key]
                    )
                    problems.append(
                        stanza.problem(
                            location, f"{stanza.label}: {key} playbook {name} does not exist"
                        )
                    )
    return problems


# -- the plugin's tempest regexes -------------------------------------------
def effective_vars(
    config: ZuulConfig, name: str, seen: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """A job's vars with its locally defined parents' merged under them, as
    Zuul merges dicts (children win)."""
    variants = config.named("job").get(name, [])
    if not variants or name in seen:
        return {}
    body = variants[0].body
    parent = body.get("parent")
    merged = effective_vars(config, str(parent), seen | {name}) if parent else {}
    own = body.get("vars")  # not a mapping: Zuul's schema check says so
    return _deep_merge(merged, own if isinstance(own, dict) else {})


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _deep_merge(result[key], value)
        else:
            result[key] = value
    return result


def _plugin_regexes(config: ZuulConfig, root: Path | None) -> list[Problem]:
    """Jobs running this project's plugin: their regexes against the
    installed plugin's tests, and (with the repository) their exclude lists."""
    problems: list[Problem] = []
    for name, variants in config.named("job").items():
        stanza = variants[0]
        variables = effective_vars(config, name)
        if PLUGIN_NAME not in _as_list(variables.get("tempest_plugins")):
            continue
        if stanza.body.get("abstract"):
            continue
        tests = plugin_tests.listed_tests()
        for var in REGEX_VARS:
            regex = variables.get(var)
            if regex is None:
                continue
            location = _var_location(config, name, var)
            try:
                found = plugin_tests.matches(str(regex), tests)
            except re.error as exc:
                problems.append(location.problem(f"job {name}: {var} does not compile: {exc}"))
                continue
            except plugin_tests.RegexTooSlow as exc:
                problems.append(location.problem(f"job {name}: {var} {exc}"))
                continue
            if not found:
                problems.append(
                    location.problem(
                        f"job {name}: {var} {regex!r} matches none of the plugin's "
                        f"{len(tests)} tests"
                    )
                )
        if root is not None:
            problems += _exclude_list(config, name, variables, root, tests)
    return problems


@dataclass
class _Where:
    stanza: Stanza
    location: list[str | int]

    def problem(self, message: str) -> Problem:
        return self.stanza.problem(self.location, message)


def _var_location(config: ZuulConfig, name: str, var: str) -> _Where:
    """The job (or nearest parent) that sets `var`, for the error's line."""
    current: str | None = name
    while current:
        variants = config.named("job").get(current)
        if not variants:
            break
        own = variants[0].body.get("vars")
        if isinstance(own, dict) and var in own:
            return _Where(variants[0], ["vars", var])
        current = variants[0].body.get("parent")
    return _Where(config.named("job")[name][0], [])


def _exclude_list(
    config: ZuulConfig, name: str, variables: dict[str, Any], root: Path, tests: tuple[str, ...]
) -> list[Problem]:
    value = variables.get("tempest_exclude_list")
    if not value:
        return []
    where = _var_location(config, name, "tempest_exclude_list")
    match = PROJECT_SRC_MARK.search(str(value))
    if not match:
        return []  # a path outside this project: not ours to read
    relative = match.group("path")
    path = root / relative
    if not path.is_file():
        return [where.problem(f"job {name}: tempest_exclude_list {relative} does not exist")]
    text = path.read_text(encoding="utf-8")
    problems = []
    for number, regex in plugin_tests.exclude_entries(text):
        try:
            found = plugin_tests.matches(regex, tests)
        except re.error as exc:
            problems.append(Problem(path, number, f"exclude entry does not compile: {exc}"))
            continue
        except plugin_tests.RegexTooSlow as exc:
            problems.append(Problem(path, number, f"exclude entry {regex!r} {exc}"))
            continue
        if not found:
            problems.append(Problem(path, number, f"exclude entry {regex!r} matches no test"))
    driver: Any = variables
    for key in ("devstack_local_conf", "test-config", "$TEMPEST_CONFIG", "container_ci"):
        driver = driver.get(key) if isinstance(driver, dict) else None  # any of them null
    driver = driver.get("compute_driver") if isinstance(driver, dict) else None
    if driver and not isinstance(driver, str):
        return [*problems, where.problem(f"job {name}: compute_driver {driver!r}: not a name")]
    try:
        expected = plugin_tests.exclude_list(driver) if driver else text
    except BadInput as exc:  # a driver the matrix has no row for
        return [*problems, where.problem(f"job {name}: compute_driver {driver!r}: {exc}")]
    if driver and text != expected:
        problems.append(
            Problem(
                path,
                1,
                f"out of date with the capability matrix for {driver}: run "
                f"`container-ci zuul exclude-list --driver {driver} --write`",
            )
        )
    return problems


# -- pipelines ------------------------------------------------------------------
def _pipeline_rules(config: ZuulConfig, policy_jobs: dict[str, str] | None) -> list[Problem]:
    problems: list[Problem] = []
    defined = config.named("job")
    for stanza in [*config.of_kind("project"), *config.of_kind("project-template")]:
        for pipeline, index, name, attrs in pipeline_jobs(stanza):
            voting = attrs.get("voting")
            if voting is None and name in defined:
                voting = defined[name][0].body.get("voting")
            location: list[str | int] = [pipeline, "jobs", index]
            if pipeline == "gate" and voting is False:
                problems.append(
                    stanza.problem(location, f"{stanza.label}: gate job {name} is non-voting")
                )
            if pipeline == "experimental" and policy_jobs is not None and name not in policy_jobs:
                problems.append(
                    stanza.problem(
                        location,
                        f"{stanza.label}: experimental job {name} has no entry in the "
                        "promotion policy (jobs/promotion.yaml `jobs:`)",
                    )
                )
    return problems
