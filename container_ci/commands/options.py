"""Option types and option groups that several commands share."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from container_ci.repository import Repository
    from container_ci.targets.cloud import CloudOptions


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def run_id(text: str) -> str:
    from container_ci import naming

    try:
        return naming.validate_run_id(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def boolean(text: str) -> bool:
    if text.lower() in ("true", "yes", "1"):
        return True
    if text.lower() in ("false", "no", "0"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r}: expected true or false")


def image_mapping(text: str) -> tuple[str, str]:
    ref, sep, name = text.partition("=")
    if not sep or not ref or not name:
        raise argparse.ArgumentTypeError(f"{text!r}: expected REF=NAME, e.g. base=cirros")
    return ref, name


def add_repository_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--root",
        type=Path,
        metavar="DIR",
        help=f"the repository whose {what} (default: the git checkout of the current directory)",
    )


def repository(args: argparse.Namespace) -> Repository:
    from container_ci.repository import Repository

    found: Repository = Repository.find(args.root)
    return found


def add_cloud_options(parser: argparse.ArgumentParser) -> None:
    cloud = parser.add_argument_group(
        "cloud targets (nova, container-service)",
        "How to reach the cloud: an entry of clouds.yaml, as openstacksdk finds it.",
    )
    cloud.add_argument(
        "--cloud",
        default=os.environ.get("OS_CLOUD", ""),
        metavar="NAME",
        help="clouds.yaml entry (default: $OS_CLOUD)",
    )
    cloud.add_argument(
        "--compute-driver",
        default="",
        metavar="DRIVER",
        help="the cloud's compute driver, naming the matrix row compute_drivers.DRIVER "
        "(default: asked from the cloud's hypervisors, which needs an admin role)",
    )
    cloud.add_argument("--flavor", default="", help="flavor name or id (default: the smallest)")
    cloud.add_argument(
        "--network",
        default="",
        help="'none' (no network, microversion 2.37), 'auto', or a network name or id "
        "(default: the local cloud's cci-net on the local cloud, else 'none')",
    )
    cloud.add_argument(
        "--image",
        action="append",
        default=[],
        type=image_mapping,
        metavar="REF=NAME",
        help="cloud image for a scenario image ref (default: base=cci-guest-base, "
        "alt=cci-guest-alt; with --compute-driver docker, cci-guest-base-docker and "
        "cci-guest-alt-docker)",
    )


def cloud_options(args: argparse.Namespace, cloud: str | None = None) -> CloudOptions:
    """The cloud options of `add_cloud_options`; `cloud` overrides --cloud."""
    from container_ci.targets.cloud import CloudOptions

    name = args.cloud if cloud is None else cloud
    return CloudOptions(
        cloud=name,
        compute_driver=args.compute_driver,
        flavor=args.flavor,
        network=args.network or default_network(name),
        images={**default_images(args.compute_driver), **dict(args.image)},
    )


def default_images(compute_driver: str) -> dict[str, str]:
    """The guest images as the driver boots them: raw ext4 for libvirt, the
    `docker save` tarballs (container format docker) for the Docker driver."""
    from container_ci.targets.cloud import DEFAULT_IMAGES
    from container_ci.targets.container_service import CONTAINER_IMAGES

    return dict(CONTAINER_IMAGES if compute_driver == "docker" else DEFAULT_IMAGES)


def default_network(cloud: str) -> str:
    """The local cloud's network on the local cloud (named, or none named:
    `tempest` brings it up), else none. A port matters on libvirt LXC: Nova
    gives a server without one no network namespace of its own, so it
    shares the host's (its domain has no <privnet/>)."""
    from container_ci.cloud.layout import CLOUD_NAME
    from container_ci.cloud.network import NETWORK

    return NETWORK if cloud in ("", CLOUD_NAME) else "none"
