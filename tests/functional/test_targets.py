"""The Target contract on both real backends, beyond what scenarios check:
typed errors, labels, identity, console across reboots, sweeping."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from container_ci import naming
from container_ci.errors import ImageNotFound, Unsupported
from container_ci.naming import Owner
from container_ci.targets.base import InstanceState, Target
from container_ci.targets.registry import LOCAL_TARGETS, target_factory


@pytest.fixture(params=LOCAL_TARGETS)
def target(request, run_id: str) -> Iterator[Target]:
    instance = target_factory(request.param)(Owner.current(run_id))
    instance.connect()
    try:
        yield instance
    finally:
        instance.sweep(run_id=run_id)
        instance.close()


def test_missing_image_is_typed_and_leaves_nothing(target: Target, run_id: str):
    name = naming.resource_name(run_id, "contract", "ghost")
    with pytest.raises(ImageNotFound):
        target.create(name, "cci-guest:does-not-exist", "contract")
    assert [r for r in target.list_owned() if r.run_id == run_id] == []


def test_created_instance_is_named_labelled_and_listed(target: Target, run_id: str):
    name = naming.resource_name(run_id, "contract", "vm")
    instance = target.create(name, target.resolve_image("base"), "contract")
    target.wait_for_state(instance, InstanceState.ACTIVE, 30)
    [resource] = [r for r in target.list_owned() if r.run_id == run_id]
    assert resource.name == name and name.startswith("cci-")
    assert resource.owner is not None and resource.owner.is_alive()
    assert not resource.is_stale()
    assert instance.id in target.identity(instance)
    target.delete(instance)
    target.wait_for_state(instance, InstanceState.GONE, 30)


def test_exec_keeps_exit_code_and_streams(target: Target, run_id: str):
    instance = target.create(
        naming.resource_name(run_id, "contract", "vm"), target.resolve_image("base"), "contract"
    )
    target.wait_for_state(instance, InstanceState.ACTIVE, 30)
    result = target.exec(instance, ["sh", "-c", "echo out; echo err >&2; exit 5"], 10)
    assert (result.exit_code, result.stdout, result.stderr) == (5, "out\n", "err\n")
    target.delete(instance)


def test_console_survives_reboot_and_stop_start(target: Target, run_id: str):
    instance = target.create(
        naming.resource_name(run_id, "contract", "vm"), target.resolve_image("base"), "contract"
    )
    target.wait_for_console(instance, "CCI-BOOT-OK boot=1 image=base", 30)
    target.reboot(instance)
    target.wait_for_console(instance, "CCI-BOOT-OK boot=2", 30)
    target.stop(instance)
    target.wait_for_state(instance, InstanceState.SHUTOFF, 30)
    target.start(instance)
    log = target.wait_for_console(instance, "CCI-BOOT-OK boot=3", 30)
    assert log.index("boot=1") < log.index("boot=2") < log.index("boot=3")
    target.delete(instance)


def test_suspend_is_a_typed_capability_gap(target: Target, run_id: str):
    instance = target.create(
        naming.resource_name(run_id, "contract", "vm"), target.resolve_image("base"), "contract"
    )
    target.wait_for_state(instance, InstanceState.ACTIVE, 30)
    with pytest.raises(Unsupported) as caught:
        target.suspend(instance)
    assert caught.value.op == "suspend" and caught.value.reason
    assert target.state(instance) == InstanceState.ACTIVE
    target.delete(instance)


def test_sweep_by_run_id_removes_instances_and_snapshots(target: Target, run_id: str):
    instance = target.create(
        naming.resource_name(run_id, "contract", "vm"), target.resolve_image("base"), "contract"
    )
    target.wait_for_state(instance, InstanceState.ACTIVE, 30)
    image = target.snapshot(instance, "snap")
    kinds = sorted(r.kind for r in target.list_owned() if r.run_id == run_id)
    assert kinds == ["image", "instance"]
    removed = target.sweep(run_id=run_id)
    assert [r.kind for r in removed] == ["instance", "image"]
    assert [r for r in target.list_owned() if r.run_id == run_id] == []
    with pytest.raises(ImageNotFound):
        target.create(naming.resource_name(run_id, "contract", "vm2"), image, "contract")


def test_a_domain_whose_files_are_gone_is_still_found_by_its_labels(run_id: str):
    """The run's data dir removed under a running domain (bench/chaos: a
    bench stopped mid-run takes its data dir with it): the domain is found
    by the labels libvirt keeps in its metadata alone, and swept. libvirt
    9.0 hands that metadata back without its namespace; matching only the
    namespaced name had found no domain at all this way."""
    import shutil

    from container_ci.targets.libvirt_lxc import LibvirtLxcTarget

    target = target_factory("libvirt-lxc")(Owner.current(run_id))
    assert isinstance(target, LibvirtLxcTarget)
    target.connect()
    try:
        name = naming.resource_name(run_id, "contract", "orphan")
        instance = target.create(name, target.resolve_image("base"), "contract")
        target.wait_for_state(instance, InstanceState.ACTIVE, 30)
        shutil.rmtree(target.instances_dir / name)
        [resource] = [r for r in target.list_owned() if r.run_id == run_id]
        assert (resource.name, resource.kind) == (name, "instance")
        assert resource.owner is not None and resource.owner.pid == os.getpid()
        assert [r.name for r in target.sweep(run_id=run_id)] == [name]
        assert name not in {domain.name() for domain in target.conn.listAllDomains(0)}
    finally:
        target.sweep(run_id=run_id)
        target.close()


def test_an_image_that_lost_its_tag_is_swept_by_its_id(run_id: str):
    """A snapshot image whose tag went while a container still used it (a
    forced remove only untags it then) is listed as "<none>:<none>", which
    no call takes: the sweep removes it by its id, and the container with
    it (bench/chaos: that name made every later sweep exit 3, leaving
    the rest in place)."""
    from container_ci.targets.docker import DockerTarget

    target = target_factory("docker")(Owner.current(run_id))
    assert isinstance(target, DockerTarget)
    target.connect()
    try:
        source = target.create(
            naming.resource_name(run_id, "contract", "source"), target.resolve_image("base"),
            "contract",
        )  # fmt: skip
        target.wait_for_state(source, InstanceState.ACTIVE, 30)
        image = target.snapshot(source, "snap")
        copy = target.create(naming.resource_name(run_id, "contract", "copy"), image, "contract")
        target.client.images.remove(image, force=True)  # untagged: the copy uses it
        owned = [r for r in target.list_owned() if r.run_id == run_id]
        assert sorted(r.kind for r in owned) == ["image", "instance", "instance"], owned
        assert all("<none>" not in r.name for r in owned), owned
        removed = target.sweep(run_id=run_id)
        assert sorted(r.kind for r in removed) == ["image", "instance", "instance"]
        assert [r for r in target.list_owned() if r.run_id == run_id] == []
        assert copy.name not in {c.name for c in target.client.containers.list(all=True)}
    finally:
        target.sweep(run_id=run_id)
        target.close()
