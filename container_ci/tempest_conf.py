"""The tempest.conf of a `container-ci tempest` run.

From a devstack's own tempest.conf (`--tempest-conf`), only the plugin's
section is added: devstack has already said what its cloud offers. From a
clouds.yaml entry, the whole file is written from what the cloud itself
answers: its catalog decides `[service_available]`, the images and flavor
are looked up, the network the run names decides whether Tempest may log in
to servers (`[validation]`), and the compute driver's rows of the capability
matrix become `[compute-feature-enabled]`, so an upstream test of a feature
the driver lacks is skipped with the flag's name rather than failing."""

from __future__ import annotations

import configparser
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keystoneauth1.identity.base import BaseIdentityPlugin

from container_ci.errors import BadInput
from container_ci.scenarios import catalogue
from container_ci.scenarios.loader import load_capabilities
from container_ci.scenarios.model import TEMPEST_FLAG_OF_OPERATIONS, compute_driver_row
from container_ci.targets.cloud import CloudOptions, authorized_connection, cloud_region, reaching
from container_ci.targets.container_service import CONTAINER_IMAGES

if TYPE_CHECKING:
    from openstack.connection import Connection

Sections = dict[str, dict[str, str]]

# Tempest's [service_available] option -> the catalog's service types for it.
SERVICE_TYPES = {
    "nova": ("compute",),
    "glance": ("image",),
    "neutron": ("network",),
    "cinder": ("block-storage", "volumev3", "volume"),
    "swift": ("object-store",),
}

# TEST-NET-3, for the subnets tests make on networks of their own (the
# multi-NIC tests): a documentation range, never a real network's.
PROJECT_NETWORK_CIDR = "203.0.113.0/24"

# The harness's guest images (cci-guest-*) let root in with the key from the
# metadata service, over dropbear.
GUEST_SSH_USER = "root"


# The container service's image: the guest image as a `docker save` tarball
# in Glance (container format docker), as `cloud up --with container-service`
# registers it (cloud/zun.py); the plugin's option defaults to it too.
CONTAINER_IMAGE = CONTAINER_IMAGES["base"]


def plugin_settings(suite: str, compute_driver: str) -> Sections:
    return {
        "container_ci": {
            "compute_driver": compute_driver,
            "capabilities_file": str(catalogue.default_matrix()),
            "container_service_available": str(suite == "container-service").lower(),
            "image": CONTAINER_IMAGE,
        }
    }


def feature_flags(compute_driver: str, matrix_path: Path | None = None) -> Sections:
    """`[compute-feature-enabled]` from the driver's rows of the matrix: its
    `compute_api_features:` row, and the operations Tempest has a flag for."""
    path = matrix_path or catalogue.default_matrix()
    matrix = load_capabilities(path)
    row = matrix.rows.get(compute_driver_row(compute_driver))
    features = matrix.features.get(compute_driver)
    if row is None or features is None:
        known = ", ".join(sorted(matrix.features)) or "none"
        raise BadInput(
            f"{path}: compute driver {compute_driver!r} has no compute_drivers and "
            f"compute_api_features rows (drivers with both: {known})"
        )
    flags = {name: capability.supported for name, capability in features.items()}
    for flag, operations in TEMPEST_FLAG_OF_OPERATIONS.items():
        flags[flag] = all(row[op].supported for op in operations)
    return {
        "compute-feature-enabled": {name: str(on).lower() for name, on in sorted(flags.items())}
    }


def config_from_cloud(
    cloud: CloudOptions, compute_driver: str, workspace: Path
) -> configparser.ConfigParser:
    """tempest.conf for a clouds.yaml entry: its user makes the test accounts
    (admin) or is the one test account."""
    region = cloud_region(cloud.cloud)
    auth = region.config.get("auth", {})
    conn = authorized_connection(region, cloud.cloud)
    with reaching(cloud.cloud, "image", "(catalog)"):
        images = {
            ref: conn.image.find_image(name, ignore_missing=False).id
            for ref, name in cloud.images.items()
        }
    with reaching(cloud.cloud, "compute", "(catalog)"):
        flavors = sorted(conn.compute.flavors(), key=lambda f: (f.ram, f.vcpus, f.disk))
        microversions = compute_microversions(conn)
    flavor = cloud.flavor or (flavors[0].id if flavors else "")
    # A second flavor, for the tests that resize or list by flavor.
    others = [f.id for f in flavors if f.id != flavor and f.name != flavor]
    flavor_alt = others[0] if others else flavor
    with reaching(cloud.cloud, "identity", auth.get("auth_url", "")):
        roles = token_roles(conn)
        services = service_settings(catalog_types(conn))
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_dict(
        {
            "DEFAULT": {"log_dir": str(workspace / "logs"), "log_file": "tempest.log"},
            "auth": credentials_settings(auth, roles, workspace),
            "identity": {
                "uri_v3": auth.get("auth_url", ""),
                "auth_version": "v3",
                "region": region.region_name or "RegionOne",
            },
            "compute": {
                "image_ref": images.get("base", ""),
                "image_ref_alt": images.get("alt", images.get("base", "")),
                "flavor_ref": flavor,
                "flavor_ref_alt": flavor_alt,
                **microversions,
            },
            **services,
        }
    )
    with reaching(cloud.cloud, "network", "(catalog)"):
        parser.read_dict(network_settings(conn, cloud.network, services))
    parser.read_dict(feature_flags(compute_driver))
    return parser


def compute_microversions(conn: Connection) -> dict[str, str]:
    """The compute API's microversion range, as the cloud states it. Left
    unset, Tempest skips every test of a microversion above 2.1."""
    endpoint = conn.compute.get_endpoint_data()
    if endpoint is None or not endpoint.max_microversion:
        return {}
    low = endpoint.min_microversion or (2, 1)
    high = endpoint.max_microversion
    return {
        "min_microversion": f"{low[0]}.{low[1]}",
        "max_microversion": f"{high[0]}.{high[1]}",
    }


def catalog_types(conn: Connection) -> set[str]:
    """The service types of the token's catalog."""
    plugin = conn.session.auth
    if not isinstance(plugin, BaseIdentityPlugin):
        raise BadInput(f"{type(plugin).__name__}: not a Keystone identity plugin")
    catalog = plugin.get_access(conn.session).service_catalog
    return {str(entry.get("type")) for entry in catalog.catalog}


def service_settings(types: set[str]) -> Sections:
    """`[service_available]`: what the catalog has. Tempest's defaults assume
    Cinder and Swift, which a small cloud may not run."""
    return {
        "service_available": {
            option: str(any(t in types for t in wanted)).lower()
            for option, wanted in SERVICE_TYPES.items()
        }
    }


def network_settings(conn: Connection, network: str, services: Sections) -> Sections:
    """What Tempest may do with servers' networks.

    `none`: servers boot without a port and Tempest is told there is no
    Neutron. `auto`: Tempest makes a network per test project (isolated
    networks). A network's name or id: every server gets a port on it (a
    shared network, so Tempest makes none), and Tempest logs in to servers
    at their fixed address over SSH (`[validation]`, connect_method fixed):
    the machine running Tempest must reach that network, as it does the
    local cloud's."""
    has_neutron = services["service_available"]["neutron"] == "true"
    if network == "none" or not has_neutron:
        return {
            "service_available": {"neutron": "false"},
            "validation": {"run_validation": "false"},
        }
    # Floating IPs need Neutron's L3 service (the `router` extension) and an
    # external network to take them from.
    floating = conn.network.find_extension("router") is not None and any(
        True for _ in conn.network.networks(is_router_external=True)
    )
    features = {"network-feature-enabled": {"floating_ips": str(floating).lower()}}
    if network == "auto":
        return {**features, "validation": {"run_validation": "false"}}
    found = conn.network.find_network(network)
    if found is None:
        raise BadInput(f"network {network!r}: the cloud has no such network")
    return {
        **features,
        "auth": {"create_isolated_networks": "false"},
        "compute": {"fixed_network_name": str(found.name)},
        "network": {
            "project_network_cidr": PROJECT_NETWORK_CIDR,
            "project_network_mask_bits": "28",
        },
        "validation": {
            "run_validation": "true",
            "connect_method": "fixed",
            "network_for_ssh": str(found.name),
            "auth_method": "keypair",
            "image_ssh_user": GUEST_SSH_USER,
            "image_alt_ssh_user": GUEST_SSH_USER,
            "ip_version_for_ssh": "4",
        },
    }


def token_roles(conn: Connection) -> list[str]:
    """The roles of the entry's token (Tempest picks accounts by role)."""
    plugin = conn.session.auth
    if not isinstance(plugin, BaseIdentityPlugin):
        raise BadInput(f"{type(plugin).__name__}: not a Keystone identity plugin")
    return sorted(plugin.get_access(conn.session).role_names or [])


def credentials_settings(auth: dict[str, Any], roles: list[str], workspace: Path) -> dict[str, str]:
    """An admin entry lets Tempest make a project and user per test class
    (dynamic credentials, as on a devstack), so classes run in parallel.
    Any other user is the one pre-provisioned account, with the roles its
    token carries (Tempest picks accounts by role and scope)."""
    domain = auth.get("user_domain_name", "Default")
    if "admin" in roles:
        return {
            "use_dynamic_credentials": "true",
            "admin_username": auth.get("username", ""),
            "admin_password": auth.get("password", ""),
            "admin_project_name": auth.get("project_name", ""),
            "admin_domain_name": domain,
            "default_credentials_domain_name": domain,
        }
    accounts = workspace / "etc" / "accounts.yaml"
    account = {
        "username": auth.get("username", ""),
        "password": auth.get("password", ""),
        "project_name": auth.get("project_name", ""),
        "user_domain_name": domain,
        "project_domain_name": auth.get("project_domain_name", "Default"),
        "roles": roles,
    }
    accounts.write_text(json.dumps([account], indent=2) + "\n")  # JSON is YAML
    accounts.chmod(0o600)
    return {
        "use_dynamic_credentials": "false",
        "test_accounts_file": str(accounts),
        "default_credentials_domain_name": domain,
    }


def read_tempest_conf(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with path.open() as stream:
            parser.read_file(stream)
    except (OSError, configparser.Error) as exc:
        raise BadInput(f"{path}: cannot read: {exc}") from exc
    return parser


def concurrency(conf_path: Path) -> int:
    """Two workers with dynamic credentials; one for a single pre-provisioned account."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(conf_path)
    return 2 if parser.getboolean("auth", "use_dynamic_credentials", fallback=True) else 1
