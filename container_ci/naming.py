"""Names and labels of everything the harness creates.

Every container, domain and image carries the `cci-` name prefix and labels
(Docker labels, libvirt metadata) with the run id and the owning process, so a
sweep can find what a run left behind and tell a live run from a dead one."""

from __future__ import annotations

import os
import re
import secrets
import socket
from dataclasses import dataclass

PREFIX = "cci-"
LABEL_NS = "container-ci"
LABEL_OWNER = f"{LABEL_NS}.owner"
LABEL_RUN_ID = f"{LABEL_NS}.run-id"
LABEL_KIND = f"{LABEL_NS}.kind"
LABEL_SCENARIO = f"{LABEL_NS}.scenario"
LABEL_INSTANCE_ID = f"{LABEL_NS}.instance-id"
LABEL_OWNER_PID = f"{LABEL_NS}.owner-pid"
LABEL_OWNER_HOST = f"{LABEL_NS}.owner-host"
OWNER_VALUE = "container-ci"

KIND_INSTANCE = "instance"
KIND_IMAGE = "image"
KIND_BASE_IMAGE = "base-image"
# a container the Docker Engine lost track of (dockerd killed), left in containerd
KIND_ORPHAN = "orphaned-container"

_RUN_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{2,31}$")
_UNSAFE = re.compile(r"[^a-z0-9-]+")


def new_run_id() -> str:
    """A short random id, unique enough to tell concurrent runs apart."""
    return secrets.token_hex(4)


def validate_run_id(run_id: str) -> str:
    if not _RUN_ID_RE.match(run_id):
        raise ValueError(f"run id {run_id!r} must be 3-32 characters of a-z, 0-9 and '-'")
    return run_id


def slug(text: str) -> str:
    return _UNSAFE.sub("-", text.lower()).strip("-") or "x"


def resource_name(run_id: str, scenario: str, alias: str) -> str:
    """`cci-<run>-<scenario>-<alias>`: readable in `docker ps` and `virsh list`."""
    return f"{PREFIX}{run_id}-{slug(scenario)}-{slug(alias)}"[:63]


@dataclass(frozen=True)
class Owner:
    """Who created a resource: used to tell leftovers of dead runs from live ones."""

    run_id: str
    pid: int
    host: str

    @classmethod
    def current(cls, run_id: str) -> Owner:
        return cls(run_id=run_id, pid=os.getpid(), host=socket.gethostname())

    def is_alive(self) -> bool:
        """True if the owning process may still be running (unknown hosts count as alive)."""
        if self.host != socket.gethostname():
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def labels(owner: Owner, kind: str, scenario: str = "", instance_id: str = "") -> dict[str, str]:
    result = {
        LABEL_OWNER: OWNER_VALUE,
        LABEL_RUN_ID: owner.run_id,
        LABEL_KIND: kind,
        LABEL_OWNER_PID: str(owner.pid),
        LABEL_OWNER_HOST: owner.host,
    }
    if scenario:
        result[LABEL_SCENARIO] = scenario
    if instance_id:
        result[LABEL_INSTANCE_ID] = instance_id
    return result


def owner_from_labels(values: dict[str, str]) -> Owner | None:
    try:
        return Owner(
            run_id=values[LABEL_RUN_ID],
            pid=int(values[LABEL_OWNER_PID]),
            host=values[LABEL_OWNER_HOST],
        )
    except (KeyError, ValueError):
        return None
