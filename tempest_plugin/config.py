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
        "capabilities_file",
        default="",
        help="The capability matrix (default: scenarios/capabilities.yaml of container-ci).",
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
    cfg.IntOpt(
        "build_timeout", default=300, help="Seconds a container or server may take to be ready."
    ),
]
