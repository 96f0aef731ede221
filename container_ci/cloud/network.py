"""The local cloud's data plane: Open vSwitch in userspace, its bridges, and
the namespaces Neutron's DHCP agent makes; all on this machine only.

This kernel has no openvswitch module, so OVS runs with its userspace
datapath (`datapath_type=netdev`). Neutron's OVS agent wires guests into the
integration bridge; a flat provider network (`physnet`) lives on the
provider bridge, which also carries the host's own address on it: Tempest,
on this machine, reaches the guests' fixed addresses over it. Nothing is
routed, NATed or bridged to the machine's uplink: the subnet is a
documentation range and no physical interface is in any bridge
(../shared/research/network.md measured the recipe and its four
workarounds)."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import re
import socket
import subprocess
from pathlib import Path

from container_ci.cloud.layout import Layout
from container_ci.errors import CloudError

# os-vif, libvirt and Neutron's agents look for OVS's database socket there:
# the system path, so one local cloud runs per machine (as its ports say).
OVS_RUN = Path("/var/run/openvswitch")
OVSDB_SOCKET = OVS_RUN / "db.sock"
OVSDB = f"unix:{OVSDB_SOCKET}"
OVS_SCHEMA = Path("/usr/share/openvswitch/vswitch.ovsschema")

INTEGRATION_BRIDGE = "cci-br-int"
PROVIDER_BRIDGE = "cci-br-phys"
PHYSNET = "cci-physnet"
PROJECT_VLANS = "100:199"  # VLAN ids of the networks projects make, on PHYSNET
NETWORK = "cci-net"
SUBNET = "cci-subnet"
# TEST-NET-2: a documentation range, routed nowhere. Not TEST-NET-1: these
# machines' own uplink is on 192.0.2.0/24 (measured), and the host's address
# below would then shadow its gateway. ensure_bridges refuses a CIDR that
# some other device already routes.
CIDR = "198.51.100.0/24"
HOST_ADDRESS = "198.51.100.1"  # this machine's end of the provider bridge
ALLOCATION_POOL = ("198.51.100.10", "198.51.100.250")


def _run(argv: list[str], what: str) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CloudError(f"{what}: {exc}") from exc
    if done.returncode != 0:
        raise CloudError(f"{what} failed: {(done.stderr or done.stdout).strip()[-300:]}")
    return done.stdout


def vsctl(*args: str) -> str:
    return _run(["ovs-vsctl", f"--db={OVSDB}", "--timeout=10", *args], f"ovs-vsctl {args[0]}")


def prepare_ovsdb(layout: Layout) -> None:
    """OVS's database, created once in the state dir (its schema upgraded
    when Debian's OVS changes it), and the run directory the daemons need.

    An OVS this cloud did not start (Debian's openvswitch-switch service,
    started by systemd when the package is installed) holds the socket
    every client looks for: refused, before anything is made."""
    if OVSDB_SOCKET.exists() and _socket_answers(OVSDB_SOCKET):
        raise CloudError(
            f"an Open vSwitch this cloud did not start listens on {OVSDB_SOCKET} (the system's "
            "openvswitch-switch service?): stop it first, e.g. `systemctl stop "
            "openvswitch-switch`"
        )
    OVS_RUN.mkdir(parents=True, exist_ok=True)
    database = layout.ovs_database
    database.parent.mkdir(parents=True, exist_ok=True)
    if not database.exists():
        _run(["ovsdb-tool", "create", str(database), str(OVS_SCHEMA)], "ovsdb-tool create")
    elif subprocess.run(
        ["ovsdb-tool", "needs-conversion", str(database), str(OVS_SCHEMA)],
        capture_output=True, text=True, check=False,
    ).stdout.strip() == "yes":  # fmt: skip
        _run(["ovsdb-tool", "convert", str(database), str(OVS_SCHEMA)], "ovsdb-tool convert")


def configure_vswitchd(layout: Layout) -> None:
    """Settings ovs-vswitchd reads only as it starts.

    userspace-tso-enable: a guest's and a DHCP namespace's veths hand the
    userspace datapath TCP packets whose checksums the kernel left for the
    device to fill in (checksum offload). Without TSO support OVS forwards
    them as they are, and the receiver drops them: measured here, ICMP and
    DHCP worked and every TCP connection (the metadata service, SSH) timed
    out. With it, OVS reads the offload metadata (virtio-net headers on its
    AF_PACKET sockets) and checksums what it forwards. Set on a running
    ovs-vswitchd it is ignored, then half-applied (the guest lost ARP)."""
    vsctl("--no-wait", "set", "Open_vSwitch", ".", "other_config:userspace-tso-enable=true")


def _socket_answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(1)
        try:
            client.connect(str(path))
        except OSError:
            return False
    return True


def routed_elsewhere(cidr: str = CIDR) -> list[str]:
    """Devices other than the provider bridge with a route overlapping
    `cidr` (the default route aside)."""
    listed = _run(["ip", "-json", "route", "show"], "ip route show")
    ours = ipaddress.ip_network(cidr)
    return sorted(
        str(route.get("dev"))
        for route in json.loads(listed or "[]")
        if route.get("dst", "default") != "default"
        and route.get("dev") != PROVIDER_BRIDGE
        and ipaddress.ip_network(route["dst"], strict=False).overlaps(ours)
    )


def ensure_bridges() -> list[str]:
    """The two userspace bridges, and the host's address on the provider
    one; returns what was created. A CIDR this machine already routes
    elsewhere (its uplink, say) is refused before anything is made."""
    clashes = routed_elsewhere()
    if clashes:
        raise CloudError(
            f"{CIDR} is already routed on this machine (via {', '.join(clashes)}): the local "
            "cloud's network would shadow it; nothing was changed"
        )
    created = []
    existing = set(vsctl("list-br").split())
    for bridge in (INTEGRATION_BRIDGE, PROVIDER_BRIDGE):
        if bridge not in existing:
            created.append(bridge)
        vsctl("--may-exist", "add-br", bridge, "--", "set", "bridge", bridge,
              "datapath_type=netdev")  # fmt: skip
    _run(["ip", "link", "set", PROVIDER_BRIDGE, "up"], f"ip link set {PROVIDER_BRIDGE} up")
    _run(
        ["ip", "address", "replace", f"{HOST_ADDRESS}/{CIDR.split('/')[1]}",
         "dev", PROVIDER_BRIDGE],
        f"ip address replace {HOST_ADDRESS} on {PROVIDER_BRIDGE}",
    )  # fmt: skip
    return created


def remove_bridges() -> list[str]:
    """Both bridges, with every port still on them (their devices go too)."""
    try:
        existing = set(vsctl("list-br").split())
    except CloudError:
        return []  # ovsdb-server is not running: nothing of ours can be in it
    removed = []
    for bridge in (INTEGRATION_BRIDGE, PROVIDER_BRIDGE):
        if bridge in existing:
            vsctl("--if-exists", "del-br", bridge)
            removed.append(bridge)
    return removed


def _dhcp_state(layout: Layout) -> Path:
    """The DHCP agent's state dir: a directory per network it served."""
    return layout.data / "neutron" / "dhcp"


def dhcp_namespaces(layout: Layout) -> list[str]:
    """The namespaces of networks this cloud's DHCP agent served that still exist."""
    served = _dhcp_state(layout)
    networks = {path.name for path in served.iterdir()} if served.is_dir() else set()
    listed = subprocess.run(
        ["ip", "-json", "netns", "list"], capture_output=True, text=True, check=False
    ).stdout
    names = {entry["name"] for entry in json.loads(listed or "[]")}
    return sorted(f"qdhcp-{network}" for network in networks if f"qdhcp-{network}" in names)


def remove_dhcp_veths(layout: Layout) -> list[str]:
    """The host ends of the DHCP ports' veths (`ovs_use_veth`: `tapX` here,
    `ns-X` in the network's namespace, named in the agent's `interface`
    file). Deleting the namespace is not enough: the kernel destroys it,
    and the veth with it, only when its last reference goes, and measured
    here the host end stayed for a minute or more after `down` (no process
    was left in it). Deleting one end deletes both, at once."""
    removed = []
    for interface in sorted(_dhcp_state(layout).glob("*/interface")):
        inside = interface.read_text().strip()
        if not inside.startswith("ns-"):
            continue
        host_end = "tap" + inside.removeprefix("ns-")
        if (Path("/sys/class/net") / host_end).exists():
            with contextlib.suppress(CloudError):
                _run(["ip", "link", "delete", host_end], f"ip link delete {host_end}")
                removed.append(host_end)
    return removed


def remove_namespaces(layout: Layout) -> list[str]:
    removed = []
    for namespace in dhcp_namespaces(layout):
        with contextlib.suppress(CloudError):
            _run(["ip", "netns", "delete", namespace], f"ip netns delete {namespace}")
            removed.append(namespace)
    return removed


# Host devices this cloud makes: its bridges' internal ports and the host
# ends of guests' veths (os-vif names them tap + the port id's first 11
# characters).
_CLOUD_DEVICE = re.compile(r"^(cci-br-\w+|tap[0-9a-f]{8}-[0-9a-f]{2})$")


def cloud_devices() -> list[str]:
    """Devices in this machine's own namespace named as this cloud names
    them: after `cloud down`, none."""
    listed = _run(["ip", "-json", "link", "show"], "ip link show")
    names = (str(link.get("ifname", "")) for link in json.loads(listed or "[]"))
    return sorted(name for name in names if _CLOUD_DEVICE.match(name))


def guest_ports_down() -> list[str]:
    """Guests' host-side devices on the integration bridge left down.

    os-vif adds a guest's port to the bridge before libvirt creates its veth;
    in 3 of 5 plugs measured the host end then stayed down (ovs-vswitchd:
    "error receiving Ethernet packet ...: Network is down") and the guest
    was unreachable. link_watcher.py brings such devices up."""
    listed = vsctl(
        "--format=json", "--columns=name,admin_state,external_ids", "find", "Interface",
        "admin_state=down",
    )  # fmt: skip
    rows = json.loads(listed).get("data", [])
    down = []
    for name, _state, external_ids in rows:
        ids = dict(external_ids[1]) if isinstance(external_ids, list) else {}
        if "iface-id" in ids:  # a Neutron port: a guest's, or a DHCP namespace's
            down.append(str(name))
    return down
