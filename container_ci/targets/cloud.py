"""What the cloud targets (`nova`, `container-service`) share: which cloud of
clouds.yaml to use, the run options that describe it, and turning the
connection errors of keystoneauth/openstacksdk into one line that names the
cloud and the endpoint (a user fixing a clouds.yaml wants those two, not a
traceback)."""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from container_ci.errors import BadInput, TargetUnavailable
from container_ci.naming import Owner
from container_ci.stale_connections import retry_safe_requests
from container_ci.targets.base import Instance, InstanceState, Target

if TYPE_CHECKING:
    from openstack.config.cloud_region import CloudRegion
    from openstack.connection import Connection

# keystoneauth and openstacksdk log a warning for every failed discovery and
# retry, urllib3 for every request it sends again (see container_ci/stale_connections.py);
# the target reports a failure itself, once, when it is one for good.
for _noisy in ("keystoneauth", "openstack", "stevedore", "urllib3"):
    logging.getLogger(_noisy).setLevel(logging.ERROR)

DEFAULT_IMAGES = {"base": "cci-guest-base", "alt": "cci-guest-alt"}


@dataclass(frozen=True)
class CloudOptions:
    """How a cloud target reaches its cloud and what it boots there."""

    cloud: str = ""  # entry of clouds.yaml ($OS_CLOUD when empty)
    compute_driver: str = ""  # matrix row; empty: ask the cloud (needs admin)
    flavor: str = ""  # name or id; empty: the smallest flavor
    network: str = "none"  # "none" (microversion 2.37), "auto", or a network name/id
    images: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_IMAGES))


def cloud_region(cloud: str) -> CloudRegion:
    """The clouds.yaml entry, or BadInput naming what exists and where it looked."""
    import openstack.config
    import openstack.config.loader
    import openstack.exceptions
    from keystoneauth1 import exceptions as ksa

    found = _check_config_files(openstack.config.loader)
    try:
        config = openstack.config.OpenStackConfig()
    except openstack.exceptions.ConfigException as exc:  # a file that is not a mapping
        raise BadInput(f"{found}:1: {exc}") from exc
    if not cloud:
        raise BadInput("a cloud target needs --cloud NAME (an entry of clouds.yaml) or $OS_CLOUD")
    looked = config.config_filename or "no clouds.yaml in " + ", ".join(
        openstack.config.loader.CONFIG_FILES
    )
    try:
        return config.get_one(cloud=cloud)
    except openstack.exceptions.ConfigException as exc:
        known = ", ".join(sorted(config.get_cloud_names())) or "none"
        raise BadInput(f"cloud {cloud!r}: {exc} (clouds: {known}; {looked})") from exc
    except (TypeError, ValueError, AttributeError, KeyError, ksa.ClientException) as exc:
        # openstacksdk takes every setting's type for granted: a region_name of
        # null, an auth that is a list or has a key its plugin does not take,
        # a '}' in a value it formats, fail in its code. Nothing of ours runs here.
        raise BadInput(
            f"{looked}: cloud {cloud!r}: settings openstacksdk cannot use: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def _check_config_files(loader: Any) -> Path | None:
    """The files openstacksdk is about to read (the first that exists of
    each list, $OS_CLIENT_CONFIG_FILE and $OS_CLIENT_SECURE_FILE first, as
    it looks), within container_ci.input_bounds: it loads them with PyYAML,
    which keeps aliases as shared references, then normalises the keys of
    every nested mapping into new ones, so a 1 KB clouds.yaml of nested
    aliases filled 2 GB in 10 s (measured) before it answered. A file that
    is not YAML is bad input here too (`file:line`): openstacksdk would skip
    it without a word and look for the cloud in the next file it finds.
    The clouds.yaml found, if any."""
    from container_ci.yaml_source import check_pyyaml_file

    clouds = None
    for files, variable in (
        (loader.CONFIG_FILES, "OS_CLIENT_CONFIG_FILE"),
        (loader.SECURE_FILES, "OS_CLIENT_SECURE_FILE"),
        (loader.VENDOR_FILES, None),
    ):
        override = os.environ.get(variable) if variable else None
        found = next((name for name in [override, *files] if name and os.path.exists(name)), None)
        if found is None:
            continue
        node = check_pyyaml_file(Path(found), syntax=not found.endswith(".json"))
        if variable is not None:
            _check_clouds_shape(Path(found), node)
        if variable == "OS_CLIENT_CONFIG_FILE":
            clouds = Path(found)
    return clouds


def _check_clouds_shape(path: Path, node: Any) -> None:
    """What openstacksdk takes for granted of a clouds.yaml (it fails with
    an AttributeError or TypeError otherwise): `clouds` maps names to
    mappings."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return  # openstacksdk says so itself: "not a valid mapping"
    for key, value in node.value:
        if key.value != "clouds":
            continue
        if not isinstance(value, yaml.MappingNode):
            raise BadInput(
                f"{path}:{value.start_mark.line + 1}: clouds: must map cloud names to settings"
            )
        for name, entry in value.value:
            if name.tag != "tag:yaml.org,2002:str" or not isinstance(entry, yaml.MappingNode):
                raise BadInput(
                    f"{path}:{name.start_mark.line + 1}: clouds: {name.value!r}: "
                    "each cloud is a name mapped to its settings"
                )


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        yield cause
        cause = cause.__cause__ or cause.__context__


def unreachable(cloud: str, endpoint: str, service: str, exc: BaseException) -> TargetUnavailable:
    """One line: which cloud, which endpoint, why (the socket's own words)."""
    from keystoneauth1 import exceptions as ksa

    why = ""
    for cause in _causes(exc):
        text = str(cause)
        match = _ERRNO.search(text)
        if match:
            why = match.group(1).strip().lower()
            break
        if isinstance(cause, ksa.ConnectTimeout):
            why = "connection timed out"
            break
    if not why:
        why = " ".join(str(exc).split())[:200]
    return TargetUnavailable(
        f"cloud {cloud!r}: cannot reach the {service} endpoint {endpoint}: {why}"
    )


def is_connection_error(exc: BaseException) -> bool:
    from keystoneauth1 import exceptions as ksa

    return any(
        isinstance(cause, ksa.ConnectFailure | ksa.DiscoveryFailure | ConnectionError)
        for cause in _causes(exc)
    )


@contextlib.contextmanager
def reaching(cloud: str, service: str, endpoint: str) -> Iterator[None]:
    """Any failure inside becomes TargetUnavailable, one line naming the cloud
    and the endpoint (a connection failure says why in the socket's words)."""
    try:
        yield
    except TargetUnavailable:
        raise
    except Exception as exc:
        if is_connection_error(exc):
            raise unreachable(cloud, endpoint, service, exc) from exc
        detail = " ".join(str(exc).split())
        raise TargetUnavailable(f"cloud {cloud!r}: {service} at {endpoint}: {detail}") from exc


def authorized_connection(region: CloudRegion, cloud: str) -> Connection:
    """An openstacksdk connection that has its token: the identity endpoint
    answered. Its safe requests survive a connection the server closed
    (`retry_safe_requests`)."""
    import openstack

    auth_url = region.config.get("auth", {}).get("auth_url", "(no auth_url)")
    conn = openstack.connection.Connection(config=region)
    retry_safe_requests(conn.session.session)
    with reaching(cloud, "identity", auth_url):
        conn.authorize()
    return conn


class CloudTarget(Target):
    """What the cloud targets share: the clouds.yaml entry (looked up when the
    target is made, so an unknown cloud is bad input before any run), polling
    (clouds offer users no event stream), the image mapping, and removing a
    leftover by id."""

    REMOVE_TIMEOUT = 300.0

    def __init__(self, owner: Owner, options: CloudOptions, poll_interval: float) -> None:
        super().__init__(owner)
        self.waiter.poll_interval = poll_interval
        self.options = options
        self.region = cloud_region(options.cloud)

    def resolve_image(self, ref: str) -> str:
        return self.options.images.get(ref, ref)

    def remove_instance(self, instance_id: str) -> None:
        instance = Instance(id=instance_id, name=instance_id, image="")
        self.delete(instance)
        self.wait_for_state(instance, InstanceState.GONE, timeout=self.REMOVE_TIMEOUT)
