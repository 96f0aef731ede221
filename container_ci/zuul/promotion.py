"""Writing a promotion or demotion decision as a change to zuul.d/ and to the
policy's `jobs:` list: the job moves with `zuul move`, so the change a CI
maintainer reviews is only the moved lines, the voting flag and the stage."""

from __future__ import annotations

import re
from pathlib import Path

from container_ci.atomic import write_text_atomically
from container_ci.errors import BadInput
from container_ci.stability.policy import Decision
from container_ci.zuul.move import Moved, move_job

# Stage -> (pipeline, voting) of the job's entry.
STAGE_PLACES = {
    "experimental": ("experimental", False),
    "check-non-voting": ("check", False),
    "check-voting": ("check", True),
}


def stage_of(pipeline: str, voting: bool) -> str | None:
    """The promotion stage a job's entry in `pipeline` puts it in (gate
    is its own stage; a pipeline no stage uses, e.g. periodic, None)."""
    if pipeline in ("gate", "experimental"):
        return pipeline
    for stage, place in STAGE_PLACES.items():
        if place == (pipeline, voting):
            return stage
    return None


def apply_decision(zuul_dir: Path, policy_path: Path, decision: Decision) -> Moved:
    """Move the decision's job from its stage to the target stage; gate
    changes are left to a person (the job then runs in both check and gate,
    which a move cannot express)."""
    job, stage, target = decision.job, decision.stage, decision.target_stage
    if target not in STAGE_PLACES or stage not in STAGE_PLACES:
        raise BadInput(
            f"{job}: {stage} -> {target} adds or removes a gate entry; make that change by "
            "hand (the job stays in check and is added to, or removed from, gate)"
        )
    pipeline, voting = STAGE_PLACES[target]
    moved = move_job([zuul_dir], job, pipeline, voting)
    _set_stage(policy_path, job, target)
    return moved


def _set_stage(policy_path: Path, job: str, stage: str) -> None:
    text = policy_path.read_text(encoding="utf-8")
    pattern = re.compile(rf"^(\s+){re.escape(job)}:\s*\S+(\s*#.*)?$", re.MULTILINE)
    if not pattern.search(text):
        raise BadInput(f"{policy_path}: no `{job}: <stage>` line under jobs:")
    text = pattern.sub(lambda m: f"{m.group(1)}{job}: {stage}{m.group(2) or ''}", text, count=1)
    write_text_atomically(policy_path, text)
