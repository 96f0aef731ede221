"""Target names (as used on the command line and in test ids) to classes."""

from __future__ import annotations

import functools
from collections.abc import Callable

from container_ci.errors import BadInput
from container_ci.naming import Owner
from container_ci.targets.base import Target
from container_ci.targets.cloud import CloudOptions

LOCAL_TARGETS = ("docker", "libvirt-lxc")
CLOUD_TARGETS = ("nova", "container-service")
TARGETS = LOCAL_TARGETS + CLOUD_TARGETS


def target_factory(name: str, cloud: CloudOptions | None = None) -> Callable[[Owner], Target]:
    """A constructor taking the run's owner. Cloud targets get `cloud`."""
    # Imported lazily: a machine without libvirt still runs the docker target.
    if name == "docker":
        from container_ci.targets.docker import DockerTarget

        return DockerTarget
    if name == "libvirt-lxc":
        from container_ci.targets.libvirt_lxc import LibvirtLxcTarget

        return LibvirtLxcTarget
    if name == "nova":
        from container_ci.targets.nova import NovaTarget

        return functools.partial(NovaTarget, options=cloud or CloudOptions())
    if name == "container-service":
        from container_ci.targets.container_service import ContainerServiceTarget

        return functools.partial(ContainerServiceTarget, options=cloud or CloudOptions())
    raise BadInput(f"unknown target {name!r}; targets: {', '.join(TARGETS)}")
