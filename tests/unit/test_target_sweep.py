"""Target.sweep: one resource that cannot be removed does not keep the
others (bench/chaos: an image no call could name made every later sweep
stop at it, leaving the rest in place)."""

from __future__ import annotations

import pytest

from container_ci.errors import ExpectationFailed, InfrastructureError
from container_ci.naming import Owner
from container_ci.targets.base import OwnedResource
from tests.fakes.target import FakeTarget


class StubbornTarget(FakeTarget):
    """Removing the resources named in `stubborn` fails with their error."""

    def __init__(self, owner: Owner, stubborn: dict[str, Exception]) -> None:
        super().__init__(owner)
        self.stubborn = stubborn

    def remove(self, resource: OwnedResource) -> None:
        if resource.name in self.stubborn:
            raise self.stubborn[resource.name]
        super().remove(resource)


def target_with(stubborn: dict[str, Exception]) -> StubbornTarget:
    target = StubbornTarget(Owner.current("tsweep"), stubborn)
    target.instances = {name: {} for name in ("cci-tsweep-a", "cci-tsweep-b", "cci-tsweep-c")}
    target.snapshots = {"cci-snap:tsweep-x"}
    return target


def test_the_others_are_removed_and_the_failure_says_how_many():
    target = target_with({"cci-tsweep-b": ExpectationFailed("docker: remove b: refused")})
    with pytest.raises(ExpectationFailed) as caught:
        target.sweep(run_id="tsweep")
    assert str(caught.value) == "docker: remove b: refused; 3 removed"
    assert [r.name for r in target.list_owned()] == ["cci-tsweep-b"]


def test_an_infrastructure_failure_among_them_makes_it_one():
    target = target_with({
        "cci-tsweep-a": ExpectationFailed("a refused"),
        "cci-tsweep-c": InfrastructureError("engine gone"),
    })  # fmt: skip
    with pytest.raises(InfrastructureError) as caught:
        target.sweep(run_id="tsweep")
    assert str(caught.value) == "a refused; 1 other(s) not removed; 2 removed"


def test_a_single_failure_with_nothing_else_to_remove_is_raised_as_it_is():
    target = target_with({})
    target.instances = {"cci-tsweep-a": {}}
    target.snapshots = set()
    error = InfrastructureError("engine gone")
    target.stubborn = {"cci-tsweep-a": error}
    with pytest.raises(InfrastructureError) as caught:
        target.sweep(run_id="tsweep")
    assert caught.value is error


def test_a_resource_without_a_run_id_belongs_to_the_run_its_name_gives():
    """A container the Docker Engine lost has no labels left, only its
    name: one run's sweep takes it by `cci-<run>-`, never another run's."""
    labelled = OwnedResource("instance", "cci-other-x-vm", "tsweep", None)
    lost = OwnedResource("orphaned-container", "cci-tsweep-scenario-vm", "", None, "c0ffee")
    assert labelled.belongs_to("tsweep") and not labelled.belongs_to("other")
    assert lost.belongs_to("tsweep")
    assert not lost.belongs_to("tsweep-scenario-v") and not lost.belongs_to("tswee")
