"""Target names (as used on the command line and in test ids) to classes.

Light to import (the command line builds its choices from it): each target's
module, and the backend library it needs, is imported only when that target
is made, so a machine without libvirt still runs the docker target."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from container_ci.errors import BadInput

if TYPE_CHECKING:
    from container_ci.naming import Owner
    from container_ci.targets.base import Target
    from container_ci.targets.cloud import CloudOptions

LOCAL_TARGETS = ("docker", "libvirt-lxc")
CLOUD_TARGETS = ("nova", "container-service")
TARGETS = LOCAL_TARGETS + CLOUD_TARGETS


def target_factory(name: str, cloud: CloudOptions | None = None) -> Callable[[Owner], Target]:
    """A constructor taking the run's owner. Cloud targets get `cloud`."""
    if name == "docker":
        from container_ci.targets.docker import DockerTarget

        return DockerTarget
    if name == "libvirt-lxc":
        from container_ci.targets.libvirt_lxc import LibvirtLxcTarget

        return LibvirtLxcTarget
    if name in CLOUD_TARGETS:
        from container_ci.targets.cloud import CloudOptions

        options = cloud or CloudOptions()
        if name == "nova":
            from container_ci.targets.nova import NovaTarget

            return functools.partial(NovaTarget, options=options)
        from container_ci.targets.container_service import ContainerServiceTarget

        return functools.partial(ContainerServiceTarget, options=options)
    raise BadInput(f"unknown target {name!r}; targets: {', '.join(TARGETS)}")
