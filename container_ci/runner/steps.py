"""What each scenario operation does on a target, and how its expectations are checked.

A step runs against every instance under its alias (a `count` boot makes a
group); group members are driven concurrently, as Nova would see N requests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from container_ci import abandoned, naming
from container_ci.errors import ExpectationFailed, ImageNotFound, StepTimeout
from container_ci.scenarios.model import Scenario, Step
from container_ci.targets.base import Instance, InstanceState, Target

M = TypeVar("M")  # a member of a group a step drives: an instance, or a name to boot


@dataclass
class Ledger:
    """Everything a pair created and has not deleted yet: what cleanup must remove."""

    instances: dict[str, list[Instance]] = field(default_factory=dict)  # alias -> members
    images: dict[str, str] = field(default_factory=dict)  # snapshot alias -> backend image
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_instance(self, alias: str, instance: Instance) -> None:
        with self.lock:
            self.instances.setdefault(alias, []).append(instance)

    def all_instances(self) -> list[Instance]:
        with self.lock:
            return [member for members in self.instances.values() for member in members]


@dataclass
class StepContext:
    target: Target
    scenario: Scenario
    run_id: str
    ledger: Ledger
    # Why the target's matrix row says it has no console log, else "": a
    # console check on another step is then left out, with this as its note.
    console_unsupported: str = ""

    def members(self, step: Step) -> list[Instance]:
        members = self.ledger.instances.get(step.instance)
        if not members:
            raise ExpectationFailed(f"instance {step.instance!r} does not exist")
        return list(members)

    def image_for(self, ref: str) -> str:
        return self.ledger.images.get(ref) or self.target.resolve_image(ref)


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self._end - time.monotonic()
        if left <= 0:
            raise StepTimeout(f"step ran over its {self.seconds:g}s timeout")
        return left


def _each(members: list[M], action: Callable[[M], object]) -> None:
    """Apply `action` to every member (instances, or the names a fleet is
    booted under), concurrently when there are several, each helper thread
    working for the step's (see abandoned.work_for)."""
    if len(members) == 1:
        action(members[0])
        return
    on_behalf = abandoned.work_for(threading.current_thread(), action)
    with ThreadPoolExecutor(max_workers=min(len(members), 8)) as pool:
        for future in [pool.submit(on_behalf, member) for member in members]:
            future.result()


def execute(step: Step, ctx: StepContext) -> str:
    """Run one step to completion, checking its expectations. Returns a short note."""
    deadline = Deadline(step.timeout)
    handler = _HANDLERS[step.op]
    note = handler(step, ctx, deadline) or ""
    if step.op != "delete" and step.expect.error is None and step.instance in ctx.ledger.instances:
        members = ctx.members(step)
        if step.expect.state:
            wanted = InstanceState(step.expect.state)
            _each(members, lambda m: ctx.target.wait_for_state(m, wanted, deadline.remaining()))
        if step.expect.console_contains and ctx.console_unsupported:
            note = "; ".join(
                filter(None, [note, f"console not checked: {ctx.console_unsupported}"])
            )
        elif step.expect.console_contains:
            text = step.expect.console_contains
            _each(members, lambda m: ctx.target.wait_for_console(m, text, deadline.remaining()))
    return note


# -- handlers: each does the operation; execute() checks state and console --


def _boot(step: Step, ctx: StepContext, deadline: Deadline) -> str:
    image = ctx.image_for(step.image or "base")
    names = [
        naming.resource_name(
            ctx.run_id,
            ctx.scenario.name,
            step.instance if step.count == 1 else f"{step.instance}-{i}",
        )
        for i in range(step.count)
    ]
    if step.expect.error == "image-not-found":
        return _boot_expecting_missing_image(step, ctx, names[0], image)

    def create(name: str) -> None:
        instance = ctx.target.create(name, image, ctx.scenario.name)
        ctx.ledger.add_instance(step.instance, instance)

    _each(names, create)
    return f"{len(names)} instance(s) from {image}"


def _boot_expecting_missing_image(step: Step, ctx: StepContext, name: str, image: str) -> str:
    try:
        instance = ctx.target.create(name, image, ctx.scenario.name)
    except ImageNotFound as exc:
        probe = Instance(id="", name=name, image=image)
        if ctx.target.state(probe) != InstanceState.GONE:
            raise ExpectationFailed(f"boot from missing image left {name} behind") from exc
        leftovers = [r.name for r in ctx.target.list_owned() if r.name == name]
        if leftovers:
            raise ExpectationFailed(f"boot from missing image left {leftovers} behind") from exc
        return f"refused as expected: {exc}"
    ctx.ledger.add_instance(step.instance, instance)  # so cleanup removes it
    raise ExpectationFailed(f"boot from {image} succeeded but the image should not exist")


def _simple(method: str) -> Callable[[Step, StepContext, Deadline], str]:
    def handler(step: Step, ctx: StepContext, deadline: Deadline) -> str:
        _each(ctx.members(step), getattr(ctx.target, method))
        return ""

    return handler


def _wait(step: Step, ctx: StepContext, deadline: Deadline) -> str:
    return ""  # execute() waits for the expected state and console text


def _exec(step: Step, ctx: StepContext, deadline: Deadline) -> str:
    notes: list[str] = []

    def run(member: Instance) -> None:
        result = ctx.target.exec(member, list(step.command), deadline.remaining())
        wanted = step.expect.exit_code
        output = f"stdout={result.stdout.strip()[:200]!r} stderr={result.stderr.strip()[:200]!r}"
        if wanted is not None and result.exit_code != wanted:
            raise ExpectationFailed(
                f"{' '.join(step.command)} in {member.name} exited {result.exit_code}, "
                f"expected {wanted}: {output}"
            )
        contains = step.expect.stdout_contains
        if contains is not None and contains not in result.stdout:
            raise ExpectationFailed(
                f"{' '.join(step.command)} in {member.name}: stdout lacks {contains!r}: {output}"
            )
        notes.append(f"exit {result.exit_code}")

    _each(ctx.members(step), run)
    return ", ".join(notes)


def _snapshot(step: Step, ctx: StepContext, deadline: Deadline) -> str:
    members = ctx.members(step)
    if len(members) != 1:
        raise ExpectationFailed(
            f"snapshot needs one instance, {step.instance!r} has {len(members)}"
        )
    alias = step.image or f"{step.instance}-snapshot"
    image = ctx.target.snapshot(members[0], alias)
    ctx.ledger.images[alias] = image
    return f"image {image}"


def _rebuild(step: Step, ctx: StepContext, deadline: Deadline) -> str:
    image = ctx.image_for(step.image or "base")

    def rebuild(member: Instance) -> None:
        before = ctx.target.identity(member)
        ctx.target.rebuild(member, image)
        if step.expect.same_identity:
            ctx.target.wait_for_state(member, InstanceState.ACTIVE, deadline.remaining())
            after = ctx.target.identity(member)
            if after != before:
                raise ExpectationFailed(f"rebuild changed identity: {before} -> {after}")

    _each(ctx.members(step), rebuild)
    return f"rebuilt from {image}"


def _delete(step: Step, ctx: StepContext, deadline: Deadline) -> str:
    members = ctx.members(step)

    def delete(member: Instance) -> None:
        ctx.target.delete(member)
        ctx.target.wait_for_state(member, InstanceState.GONE, deadline.remaining())

    _each(members, delete)
    with ctx.ledger.lock:
        ctx.ledger.instances.pop(step.instance, None)
    return f"{len(members)} instance(s) gone"


_HANDLERS: dict[str, Callable[[Step, StepContext, Deadline], str]] = {
    "boot": _boot,
    "wait": _wait,
    "console": _wait,
    "exec": _exec,
    "reboot": _simple("reboot"),
    "stop": _simple("stop"),
    "start": _simple("start"),
    "pause": _simple("pause"),
    "unpause": _simple("unpause"),
    "suspend": _simple("suspend"),
    "resume": _simple("resume"),
    "snapshot": _snapshot,
    "rebuild": _rebuild,
    "delete": _delete,
}
