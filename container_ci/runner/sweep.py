"""`container-ci sweep`: remove what the harness left behind on each target."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from container_ci.errors import InfrastructureError
from container_ci.naming import Owner, new_run_id
from container_ci.targets.base import OwnedResource
from container_ci.targets.cloud import CloudOptions
from container_ci.targets.registry import target_factory


@dataclass(frozen=True)
class SweepOutcome:
    target: str
    resources: list[OwnedResource] = field(default_factory=list)  # removed, or would be
    error: str = ""  # why the target could not be swept


def sweep(
    targets: Sequence[str],
    run_id: str | None = None,
    include_live: bool = False,
    dry_run: bool = False,
    cloud: CloudOptions | None = None,
) -> Iterator[SweepOutcome]:
    """Per target, what was removed (or with `dry_run` would be); a target
    that cannot be reached says why and the others are still swept."""
    owner = Owner.current(new_run_id())  # the sweeper owns nothing itself
    for name in targets:
        target = target_factory(name, cloud)(owner)
        try:
            target.connect()
            if dry_run:
                chosen = target.select_for_sweep(run_id=run_id, include_live=include_live)
            else:
                chosen = target.sweep(run_id=run_id, include_live=include_live)
        except InfrastructureError as exc:
            yield SweepOutcome(name, error=str(exc))
            continue
        finally:
            target.close()
        yield SweepOutcome(name, chosen)
