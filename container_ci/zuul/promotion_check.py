"""What the promotion loop asks of a repository, for `zuul check`:

- every job of the promotion policy that zuul.d places beyond experimental
  (check, voting or not, or gate) has its evidence, `reports/<job>.md`
  (written by `stability decide --apply`, stability/evidence.py): a job
  moves only with the numbers that justify it in the same change;
- no quarantine has outlived its expiry date: a classified failure
  signature of the policy, or a capability gap of the matrix (which must
  also say why: a gap without a reason is an error, as the matrix's parser
  says too).

Each problem is `file:line: message`, as the rest of `zuul check`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from container_ci.errors import BadInput
from container_ci.stability.evidence import REPORTS_DIR
from container_ci.stability.policy import Policy
from container_ci.stability.quarantine import parse_entry
from container_ci.yaml_source import line_of, load_yaml
from container_ci.zuul.config import Problem, ZuulConfig
from container_ci.zuul.promotion import stage_of

CAPABILITY_SECTIONS = ("targets", "compute_drivers", "compute_api_features")


def missing_evidence(config: ZuulConfig, policy_jobs: dict[str, str], root: Path) -> list[Problem]:
    """A problem at each entry placing a policy job beyond experimental
    when the repository at `root` has no reports/<job>.md."""
    from container_ci.zuul.check import pipeline_jobs  # check.py calls this module

    problems: list[Problem] = []
    defined = config.named("job")
    for stanza in [*config.of_kind("project"), *config.of_kind("project-template")]:
        for pipeline, index, name, attrs in pipeline_jobs(stanza):
            if name not in policy_jobs:
                continue
            voting = attrs.get("voting")
            if voting is None and name in defined:
                voting = defined[name][0].body.get("voting")
            stage = stage_of(pipeline, voting is not False)
            if stage in (None, "experimental"):
                continue
            report = Path(REPORTS_DIR) / f"{name}.md"
            if not (root / report).is_file():
                problems.append(
                    stanza.problem(
                        [pipeline, "jobs", index],
                        f"job {name} is in stage {stage} but {report} is missing "
                        "(`container-ci stability decide --apply` writes it)",
                    )
                )
    return problems


def expired_classifications(policy: Policy, today: date) -> list[Problem]:
    return [
        Problem(
            policy.path,
            entry.line,
            f"classified_signatures.{digest}: expired on {entry.expires} ({entry.describe()}): "
            "the failure counts as unclassified again; fix it, or renew the entry with a new "
            "expiry",
        )
        for digest, entry in sorted(policy.expired(today).items())
    ]


def capability_gaps(path: Path, today: date) -> list[Problem]:
    """Each gap (`unsupported`) of the capability matrix at `path` without a
    reason, malformed, or past its expiry date. Read as YAML with positions
    (not through the matrix's parser, which stops at the first problem)."""
    try:
        document = load_yaml(path)
    except BadInput as exc:
        return [Problem(path, 1, str(exc))]
    problems: list[Problem] = []
    for location, value in _capabilities(document):
        field = ".".join(map(str, location))
        line = line_of(document, location)
        if value == "supported":
            continue
        if not isinstance(value, dict) or "unsupported" not in value:
            problems.append(
                Problem(path, line, f"{field}: a gap without a reason: say `unsupported: why`")
            )
            continue
        entry, problem = parse_entry(
            {("reason" if k == "unsupported" else k): v for k, v in value.items()}, line
        )
        if entry is None:
            problem = (problem or "malformed").replace("reason:", "unsupported:", 1)
            problems.append(Problem(path, line, f"{field}: {problem}"))
        elif entry.expired(today):
            problems.append(
                Problem(
                    path,
                    line,
                    f"{field}: gap expired on {entry.expires} ({entry.describe()}): check the "
                    "reason still holds and renew the expiry, or support the operation",
                )
            )
    return problems


def _capabilities(document: Any) -> Iterator[tuple[list[str | int], Any]]:
    if not isinstance(document, dict):
        return
    for section in CAPABILITY_SECTIONS:
        rows = document.get(section)
        if not isinstance(rows, dict):
            continue
        for row, operations in rows.items():
            if isinstance(operations, dict):
                for operation, value in operations.items():
                    yield [section, row, operation], value
