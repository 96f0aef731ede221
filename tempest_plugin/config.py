"""Tempest configuration options of the container-ci plugin (group `container_ci`)."""

from __future__ import annotations

from oslo_config import cfg

container_ci_group = cfg.OptGroup(
    name="container_ci", title="container-ci: container drivers and the container service"
)

ContainerCIGroup = [
    cfg.StrOpt(
        "compute_driver",
        default="libvirt-lxc",
        help="The compute driver the cloud runs, as named in the capability matrix "
        "(e.g. libvirt-lxc, docker). Tests of operations the matrix marks unsupported "
        "for it are skipped with the matrix's reason.",
    ),
    cfg.StrOpt(
        "boot_marker",
        default="CCI-BOOT-OK",
        help="Text the guest image prints on its console once booted (container-ci's "
        "guest prints CCI-BOOT-OK; for CirrOS use 'login:').",
    ),
    cfg.StrOpt(
        "capabilities_file",
        default="",
        help="The capability matrix (default: the one shipped with container-ci).",
    ),
    cfg.BoolOpt(
        "container_service_available",
        default=False,
        help="Whether the container service is deployed in the cloud.",
    ),
    cfg.StrOpt("catalog_type", default="container", help="Catalog type of the container service."),
    cfg.StrOpt(
        "endpoint_type",
        default="publicURL",
        choices=["public", "admin", "internal", "publicURL", "adminURL", "internalURL"],
        help="Endpoint type of the container service.",
    ),
    cfg.StrOpt(
        "region",
        default="",
        help="Region of the container service endpoint (default: the identity region).",
    ),
    cfg.StrOpt(
        "api_microversion",
        default="1.40",
        help="Container service API microversion the clients send (placing a container "
        "on a given host needs 1.39).",
    ),
    cfg.IntOpt(
        "build_timeout", default=300, help="Seconds a container or server may take to be ready."
    ),
    cfg.IntOpt("build_interval", default=1, help="Seconds between status checks."),
    cfg.StrOpt(
        "image",
        default="cci-guest-base-docker",
        help="Image the container service tests run (its name in the service's image driver; "
        "the default is the guest image `container-ci cloud up --with container-service` puts "
        "in Glance as a `docker save` tarball).",
    ),
    cfg.StrOpt(
        "missing_image",
        default="container-ci-no-such-image",
        help="An image name that does not exist, for the bad-image error check.",
    ),
]
