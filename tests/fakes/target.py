"""An in-memory Target for unit tests of the runner's logic (skip rules,
cleanup, timeouts). The real backends are exercised in tests/functional."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

from container_ci.errors import ImageNotFound
from container_ci.naming import Owner
from container_ci.scenarios.model import (
    DEFAULT_STATE,
    OPERATIONS,
    Capability,
    CapabilityMatrix,
    Expect,
    Scenario,
    Step,
)
from container_ci.targets.base import ExecResult, Instance, InstanceState, OwnedResource, Target


class FakeTarget(Target):
    name = "fake"

    def __init__(self, owner: Owner, fail: dict[str, BaseException] | None = None) -> None:
        super().__init__(owner)
        self.fail = fail or {}  # op name -> exception to raise
        self.hang: set[str] = set()  # op names that block until released
        self.release = threading.Event()
        self.instances: dict[str, dict] = {}
        self.images: set[str] = {"cci-guest:base", "cci-guest:alt"}
        self.snapshots: set[str] = set()
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def _op(self, op: str) -> None:
        with self.lock:
            self.calls.append(op)
        if op in self.hang:
            self.release.wait(30)
        if op in self.fail:
            raise self.fail[op]

    def connect(self) -> str:
        self._op("connect")
        return "fake 1.0"

    def close(self) -> None:
        pass

    def resolve_image(self, ref: str) -> str:
        return f"cci-guest:{ref}" if ref in ("base", "alt") else ref

    def delete_image(self, image: str) -> None:
        self._op("delete_image")
        self.snapshots.discard(image)

    def create(self, name: str, image: str, scenario: str) -> Instance:
        self._op("boot")
        if image not in self.images | self.snapshots:
            raise ImageNotFound(image)
        instance = Instance(id=str(uuid.uuid4()), name=name, image=image, scenario=scenario)
        with self.lock:
            self.instances[name] = {"state": InstanceState.ACTIVE, "id": instance.id, "boots": 1}
        return instance

    def state(self, instance: Instance) -> InstanceState:
        entry = self.instances.get(instance.name)
        return entry["state"] if entry else InstanceState.GONE

    def identity(self, instance: Instance) -> str:
        return self.instances[instance.name]["id"]

    def console_log(self, instance: Instance) -> str:
        self._op("console")
        entry = self.instances.get(instance.name)
        boots = entry["boots"] if entry else 0
        return "".join(f"CCI-BOOT-OK boot={n}\n" for n in range(1, boots + 1))

    def exec(self, instance: Instance, argv: list[str], timeout: float) -> ExecResult:
        self._op("exec")
        return ExecResult(exit_code=0, stdout="base\n", stderr="")

    def _set(self, instance: Instance, op: str, state: InstanceState, boot: bool = False) -> None:
        self._op(op)
        entry = self.instances[instance.name]
        entry["state"] = state
        if boot:
            entry["boots"] += 1
        self.waiter.notify()

    def reboot(self, instance: Instance) -> None:
        self._set(instance, "reboot", InstanceState.ACTIVE, boot=True)

    def stop(self, instance: Instance) -> None:
        self._set(instance, "stop", InstanceState.SHUTOFF)

    def start(self, instance: Instance) -> None:
        self._set(instance, "start", InstanceState.ACTIVE, boot=True)

    def pause(self, instance: Instance) -> None:
        self._set(instance, "pause", InstanceState.PAUSED)

    def unpause(self, instance: Instance) -> None:
        self._set(instance, "unpause", InstanceState.ACTIVE)

    def suspend(self, instance: Instance) -> None:
        self._set(instance, "suspend", InstanceState.SUSPENDED)

    def resume(self, instance: Instance) -> None:
        self._set(instance, "resume", InstanceState.ACTIVE)

    def snapshot(self, instance: Instance, alias: str) -> str:
        self._op("snapshot")
        image = f"cci-snap:{alias}"
        self.snapshots.add(image)
        return image

    def rebuild(self, instance: Instance, image: str) -> Instance:
        self._set(instance, "rebuild", InstanceState.ACTIVE, boot=True)
        instance.image = image
        return instance

    def delete(self, instance: Instance) -> None:
        self._op("delete")
        with self.lock:
            self.instances.pop(instance.name, None)
        self.waiter.notify()

    def list_owned(self) -> list[OwnedResource]:
        owned = [
            OwnedResource("instance", n, self.owner.run_id, self.owner) for n in self.instances
        ]
        owned += [OwnedResource("image", i, self.owner.run_id, self.owner) for i in self.snapshots]
        return owned

    def remove(self, resource: OwnedResource) -> None:
        self.instances.pop(resource.name, None)
        self.snapshots.discard(resource.name)


# A lifecycle scenario (one step per operation) and a matrix row `fake`
# for it, built in code: the runner's tests need no scenario file.
OPS = [
    ("boot", {"image": "base"}),
    ("exec", {"command": ("cat", "/etc/cci-image"), "expect": Expect(exit_code=0)}),
    ("reboot", {"expect": Expect(state="active", console_contains="boot=2")}),
    ("stop", {}),
    ("start", {}),
    ("pause", {}),
    ("unpause", {}),
    ("snapshot", {"image": "snap"}),
    ("rebuild", {"image": "alt", "expect": Expect(state="active", same_identity=True)}),
    ("delete", {}),
]


def make_scenario(ops=OPS, timeout: float = 5.0, optional: frozenset[str] = frozenset()):
    steps = []
    for index, (op, extra) in enumerate(ops):
        expect = extra.get("expect") or Expect(state=DEFAULT_STATE.get(op))
        steps.append(
            Step(
                index=index,
                op=op,
                instance="vm",
                line=index + 3,
                image=extra.get("image"),
                command=extra.get("command", ()),
                expect=expect,
                timeout=timeout,
                optional=op in optional,
                name=f"{op} vm",
            )
        )
    return Scenario("lifecycle", "test", Path("lifecycle.yaml"), tuple(steps))


def matrix(unsupported: dict[str, str] | None = None) -> CapabilityMatrix:
    unsupported = unsupported or {}
    caps = {
        op: Capability(False, unsupported[op]) if op in unsupported else Capability(True)
        for op in OPERATIONS
    }
    return CapabilityMatrix(Path("capabilities.yaml"), {"fake": caps})
