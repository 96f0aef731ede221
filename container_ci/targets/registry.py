"""Target names (as used on the command line and in test ids) to classes."""

from __future__ import annotations

from collections.abc import Callable

from container_ci.errors import BadInput
from container_ci.naming import Owner
from container_ci.targets.base import Target

LOCAL_TARGETS = ("docker", "libvirt-lxc")


def target_factory(name: str) -> Callable[[Owner], Target]:
    # Imported lazily: a machine without libvirt still runs the docker target.
    if name == "docker":
        from container_ci.targets.docker import DockerTarget

        return DockerTarget
    if name == "libvirt-lxc":
        from container_ci.targets.libvirt_lxc import LibvirtLxcTarget

        return LibvirtLxcTarget
    raise BadInput(f"unknown target {name!r}; local targets: {', '.join(LOCAL_TARGETS)}")
