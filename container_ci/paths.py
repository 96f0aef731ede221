"""Where container-ci keeps state on this machine (images, daemon logs, pidfiles)."""

from __future__ import annotations

import os
from pathlib import Path

ENV_DATA_DIR = "CONTAINER_CI_DATA_DIR"


def data_dir() -> Path:
    """`$CONTAINER_CI_DATA_DIR`, else `$XDG_DATA_HOME/container-ci`, else
    `~/.local/share/container-ci`. Created on first use, 0700: the cloud's
    and the local Zuul's state, the stability store, Tempest's workspaces
    (tempest.conf holds the cloud's admin password) are in it, and another
    local user must not reach any of them (doc/local_cloud.md, "Files and
    modes")."""
    explicit = os.environ.get(ENV_DATA_DIR)
    if explicit:
        path = Path(explicit)
    else:
        xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        path = Path(xdg) / "container-ci"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def lxc_images_dir() -> Path:
    return data_dir() / "lxc" / "images"


def lxc_instances_dir() -> Path:
    return data_dir() / "lxc" / "instances"


def daemons_dir() -> Path:
    """Pidfiles and logs of the daemons `container-ci setup` started itself."""
    path = data_dir() / "daemons"
    path.mkdir(mode=0o700, exist_ok=True)
    return path
