"""`container-ci sweep`: remove what the harness left behind on each target."""

from __future__ import annotations

from collections.abc import Sequence

from container_ci.errors import InfrastructureError
from container_ci.naming import Owner, new_run_id
from container_ci.targets.cloud import CloudOptions
from container_ci.targets.registry import target_factory


def sweep(
    targets: Sequence[str],
    run_id: str | None = None,
    include_live: bool = False,
    dry_run: bool = False,
    cloud: CloudOptions | None = None,
) -> int:
    """Returns 0 when every target was swept, 3 when one could not be reached."""
    exit_code = 0
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
            print(f"{name}: not swept: {exc}")
            exit_code = 3
            continue
        finally:
            target.close()
        verb = "would remove" if dry_run else "removed"
        print(f"{name}: {verb} {len(chosen)} resource(s)")
        for resource in chosen:
            state = "stale" if resource.is_stale() else "live"
            print(f"  {resource.kind} {resource.name} (run {resource.run_id or '?'}, {state})")
    return exit_code
