"""A Nova compute driver backed by the Docker Engine, for the local cloud.

Nova's promise for containers names two drivers, libvirt LXC and Docker;
the Docker one (nova-docker) was retired in 2017 and loads in no current
Nova. This one is written for nova 34's `ComputeDriver` so the same
compute-API tests run on both. It is a test-bed component: it runs inside
the local cloud's nova-compute (launched by `launch.py`, which makes it
importable as `nova.virt.cci_docker`, the only form nova 34 loads), never
in the harness.

A server is a container named after the instance (`instance_name_template`)
and labelled with its uuid. Images come from Glance as `docker save`
tarballs (container format `docker`), loaded once and tagged
`cci-nova-glance/<image id>`. Networking: each Neutron port is a veth whose
host end joins the integration bridge tagged with the port (as os-vif's
OVS plugin tags libvirt's devices) and whose other end is the container's
`eth0`; every start gets a fresh network namespace, so every start plugs
again, and the container's command waits for `eth0` before it runs, so
the guest's DHCP client finds its interface. Declared gaps (suspend,
rescue, resize, migration, volumes, attaching interfaces) are the base
class's NotImplementedError: the API answers as for any driver lacking them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
from typing import Any

import docker
import docker.errors
from nova import exception
from nova.compute import power_state, task_states
from nova.conf import CONF
from nova.image import glance
from nova.objects import fields
from nova.virt import driver, hardware
from oslo_log import log as logging
from oslo_serialization import jsonutils

LOG = logging.getLogger(__name__)

LABEL_UUID = "org.openstack.nova.instance-uuid"
LABEL_KIND = "com.container-ci.kind"
KIND = "nova-docker-server"
IMAGE_REPOSITORY = "cci-nova-glance"
OVSDB = "unix:/var/run/openvswitch/db.sock"
# Runs before the image's own command: wait (30 s at most) for Nova's eth0.
WAIT_FOR_ETH0 = (
    'i=0; while [ ! -e /sys/class/net/eth0 ] && [ "$i" -lt 300 ]; do sleep 0.1; i=$((i+1)); done; '
    'exec "$@"'
)
POWER_STATES = {
    "running": power_state.RUNNING,
    "restarting": power_state.RUNNING,
    "paused": power_state.PAUSED,
    "created": power_state.SHUTDOWN,
    "exited": power_state.SHUTDOWN,
    "dead": power_state.CRASHED,
}


def _run(*argv: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise exception.NovaException(f"{' '.join(argv)}: {done.stderr.strip()}")


class DockerDriver(driver.ComputeDriver):
    capabilities = {
        "has_imagecache": False,
        "supports_evacuate": False,
        "supports_migrate_to_same_host": False,
        "supports_attach_interface": False,
        "supports_device_tagging": False,
        "supports_multiattach": False,
        "supports_trusted_certs": False,
        "supports_pcpus": False,
        "supports_accelerators": False,
        "supports_image_type_raw": True,  # docker tarballs are registered as raw
    }

    def __init__(self, virtapi: Any) -> None:
        super().__init__(virtapi)
        self._client: docker.DockerClient | None = None
        self._nodename = socket.gethostname()

    @property
    def docker(self) -> docker.DockerClient:
        if self._client is None:
            self._client = docker.from_env(timeout=120)
        return self._client

    # -- the host ------------------------------------------------------------
    def init_host(self, host: str) -> None:
        try:
            self.docker.ping()
        except docker.errors.DockerException as exc:
            raise exception.HypervisorUnavailable(host=host) from exc

    def get_available_nodes(self, refresh: bool = False) -> list[str]:
        return [self._nodename]

    def get_host_uptime(self) -> str:
        with open("/proc/uptime") as handle:
            return f"up {float(handle.read().split()[0]):.0f} seconds"

    def get_available_resource(self, nodename: str) -> dict[str, Any]:
        memory_mb = _meminfo_mb("MemTotal")
        root = self.docker.info().get("DockerRootDir", "/var/lib/docker")
        disk = os.statvfs(root)
        disk_gb = disk.f_blocks * disk.f_frsize // 2**30
        used_gb = (disk.f_blocks - disk.f_bavail) * disk.f_frsize // 2**30
        version = self.docker.version().get("Version", "0.0.0").split("+")[0].split("-")[0]
        major, minor, patch = (int(part) for part in (version.split(".") + ["0", "0"])[:3])
        return {
            "vcpus": os.cpu_count() or 1,
            "memory_mb": memory_mb,
            "local_gb": disk_gb,
            "vcpus_used": 0,
            "memory_mb_used": memory_mb - _meminfo_mb("MemAvailable"),
            "local_gb_used": used_gb,
            "hypervisor_type": "docker",
            "hypervisor_version": major * 1000000 + minor * 1000 + patch,
            "hypervisor_hostname": nodename,
            # JSON, as libvirt's: the hypervisors API parses it (500 otherwise: measured).
            "cpu_info": jsonutils.dumps(_cpu_info()),
            "numa_topology": None,
            "supported_instances": [
                (fields.Architecture.X86_64, fields.HVType.DOCKER, fields.VMMode.EXE)
            ],
        }

    def update_provider_tree(
        self, provider_tree: Any, nodename: str, allocations: Any = None
    ) -> None:
        """VCPU, MEMORY_MB and DISK_GB of the host, with Nova's ratios and
        reservations (as nova/virt/fake.py reports them)."""
        import os_resource_classes as orc

        resources = self.get_available_resource(nodename)
        inventory = provider_tree.data(nodename).inventory
        ratios = self._get_allocation_ratios(inventory)

        def record(total: int, ratio: float, reserved: int) -> dict[str, Any]:
            return {"total": total, "min_unit": 1, "max_unit": total, "step_size": 1,
                    "allocation_ratio": ratio, "reserved": reserved}  # fmt: skip

        provider_tree.update_inventory(
            nodename,
            {
                orc.VCPU: record(resources["vcpus"], ratios[orc.VCPU], CONF.reserved_host_cpus),
                orc.MEMORY_MB: record(
                    resources["memory_mb"], ratios[orc.MEMORY_MB], CONF.reserved_host_memory_mb
                ),
                orc.DISK_GB: record(
                    resources["local_gb"],
                    ratios[orc.DISK_GB],
                    self._get_reserved_host_disk_gb_from_config(),
                ),
            },
        )

    # -- instances -------------------------------------------------------------
    def _ours(self) -> list[Any]:
        return list(
            self.docker.containers.list(all=True, filters={"label": f"{LABEL_KIND}={KIND}"})
        )

    def list_instances(self) -> list[str]:
        return [container.name for container in self._ours()]

    def list_instance_uuids(self) -> list[str]:
        return [container.labels.get(LABEL_UUID, "") for container in self._ours()]

    def instance_exists(self, instance: Any) -> bool:
        return self._find(instance) is not None

    def _find(self, instance: Any) -> Any:
        try:
            return self.docker.containers.get(instance.name)
        except docker.errors.NotFound:
            return None

    def _get(self, instance: Any) -> Any:
        container = self._find(instance)
        if container is None:
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        return container

    def get_info(self, instance: Any, use_cache: bool = True) -> hardware.InstanceInfo:
        container = self._get(instance)
        return hardware.InstanceInfo(state=POWER_STATES.get(container.status, power_state.NOSTATE))

    def spawn(
        self,
        context: Any,
        instance: Any,
        image_meta: Any,
        injected_files: Any,
        admin_password: Any,
        allocations: Any,
        network_info: Any = None,
        block_device_info: Any = None,
        power_on: bool = True,
        accel_info: Any = None,
    ) -> None:
        image = self._image(context, image_meta.id)
        config = image.attrs.get("Config") or {}
        command = (config.get("Entrypoint") or []) + (config.get("Cmd") or [])
        if not command:
            raise exception.InvalidImageRef(image_href=image_meta.id)
        if network_info:
            command = ["/bin/sh", "-c", WAIT_FOR_ETH0, "cci-wait-for-eth0", *command]
        self.docker.containers.create(
            image.id,
            command=command,
            entrypoint=[],
            name=instance.name,
            # The kernel takes at most 64 bytes; Nova's hostnames may be FQDNs
            # of 255 (microversion 2.94: Docker then fails the create).
            hostname=(instance.hostname or instance.name).split(".")[0][:63],
            labels={LABEL_UUID: instance.uuid, LABEL_KIND: KIND},
            network_mode="none",
            # The guest configures its own interface from DHCP, as a VM's or
            # an LXC guest's does (without it: "Operation not permitted").
            cap_add=["NET_ADMIN"],
            mem_limit=f"{instance.flavor.memory_mb}m",
            cpu_shares=max(2, instance.flavor.vcpus * 1024),
            detach=True,
        )
        if power_on:
            self._start(instance, network_info)

    def _image(self, context: Any, image_id: str) -> Any:
        """The Glance image as a local Docker image, loaded once."""
        tag = f"{IMAGE_REPOSITORY}/{image_id}:latest"
        try:
            return self.docker.images.get(tag)
        except docker.errors.ImageNotFound:
            pass
        with tempfile.NamedTemporaryFile(prefix="cci-nova-image-", suffix=".tar") as tarball:
            glance.API().download(context, image_id, dest_path=tarball.name)
            with open(tarball.name, "rb") as handle:
                loaded = self.docker.images.load(handle.read())
        if not loaded:
            raise exception.ImageUnacceptable(image_id=image_id, reason="no image in the tarball")
        loaded[0].tag(f"{IMAGE_REPOSITORY}/{image_id}", "latest")
        return self.docker.images.get(tag)

    def _start(self, instance: Any, network_info: Any) -> None:
        container = self._get(instance)
        container.start()
        container.reload()
        self.plug_vifs(instance, network_info)

    def destroy(
        self,
        context: Any,
        instance: Any,
        network_info: Any,
        block_device_info: Any = None,
        destroy_disks: bool = True,
        destroy_secrets: bool = True,
    ) -> None:
        container = self._find(instance)
        if container is not None:
            container.remove(force=True)
        self.unplug_vifs(instance, network_info)

    def cleanup(
        self, context: Any, instance: Any, network_info: Any, *args: Any, **kwargs: Any
    ) -> None:
        self.destroy(context, instance, network_info)

    def reboot(
        self,
        context: Any,
        instance: Any,
        network_info: Any,
        reboot_type: str,
        block_device_info: Any = None,
        bad_volumes_callback: Any = None,
        accel_info: Any = None,
        share_info: Any = None,
    ) -> None:
        """SOFT: SIGTERM, 10 s, then SIGKILL; HARD: SIGKILL. Then started and
        plugged again (the old network namespace went with the old process)."""
        container = self._get(instance)
        container.stop(timeout=0 if reboot_type == "HARD" else 10)
        self._start(instance, network_info)

    def power_off(self, instance: Any, timeout: int = 0, retry_interval: int = 0) -> None:
        self._get(instance).stop(timeout=timeout or 10)

    def power_on(
        self,
        context: Any,
        instance: Any,
        network_info: Any,
        block_device_info: Any = None,
        accel_info: Any = None,
        share_info: Any = None,
    ) -> None:
        if self._get(instance).status != "running":
            self._start(instance, network_info)

    def pause(self, instance: Any) -> None:
        self._get(instance).pause()

    def unpause(self, instance: Any) -> None:
        self._get(instance).unpause()

    def get_console_output(self, context: Any, instance: Any) -> bytes:
        logs: bytes = self._get(instance).logs(stdout=True, stderr=True, tail=1000)
        return logs

    def snapshot(self, context: Any, instance: Any, image_id: str, update_task_state: Any) -> None:
        """`docker commit`, then its `docker save` into the Glance image Nova made."""
        container = self._get(instance)
        update_task_state(task_state=task_states.IMAGE_PENDING_UPLOAD)
        committed = container.commit(repository=f"{IMAGE_REPOSITORY}/{image_id}", tag="latest")
        update_task_state(
            task_state=task_states.IMAGE_UPLOADING,
            expected_state=task_states.IMAGE_PENDING_UPLOAD,
        )
        images = glance.API()
        snapshot = images.get(context, image_id)
        metadata = {
            "name": snapshot["name"],
            "disk_format": "raw",
            "container_format": "docker",
            "status": "active",
            "properties": {
                "image_location": "snapshot",
                "image_state": "available",
                "owner_id": instance.project_id,
            },  # fmt: skip
        }
        with tempfile.TemporaryFile(prefix="cci-nova-snapshot-") as spool:
            for chunk in committed.save(named=True):
                spool.write(chunk)
            spool.seek(0)
            images.update(context, image_id, metadata, spool, purge_props=False)

    # -- networking ----------------------------------------------------------------
    def plug_vifs(self, instance: Any, network_info: Any) -> None:
        """Each port a veth: the host end in the integration bridge with the
        port's external ids (what the OVS agent wires), the other end the
        running container's eth0 (eth1... for more). Nothing when stopped."""
        container = self._find(instance)
        if container is None or container.status != "running" or not network_info:
            return
        pid = str(container.attrs["State"]["Pid"])
        for index, vif in enumerate(network_info):
            device = vif["devname"] or f"tap{vif['id'][:11]}"
            mtu = str((vif["network"].get("meta") or {}).get("mtu") or 1500)
            bridge = vif["network"]["bridge"]
            _run("ovs-vsctl", f"--db={OVSDB}", "--if-exists", "del-port", bridge, device)
            subprocess.run(["ip", "link", "del", device], capture_output=True, check=False)
            _run("ip", "link", "add", device, "mtu", mtu, "type", "veth", "peer", "name",
                 f"eth{index}", "address", vif["address"], "mtu", mtu, "netns", pid)  # fmt: skip
            _run("ip", "link", "set", device, "up")
            _run(
                "ovs-vsctl", f"--db={OVSDB}", "--", "--may-exist", "add-port", bridge, device,
                "--", "set", "Interface", device,
                f"external_ids:iface-id={vif['id']}", "external_ids:iface-status=active",
                f"external_ids:attached-mac={vif['address']}",
                f"external_ids:vm-uuid={instance.uuid}",
            )  # fmt: skip
            # Up inside as libvirt sets an LXC guest's: the guest's DHCP client needs a link.
            _run("nsenter", "-t", pid, "-n", "ip", "link", "set", f"eth{index}", "up")
        _run("nsenter", "-t", pid, "-n", "ip", "link", "set", "lo", "up")

    def unplug_vifs(self, instance: Any, network_info: Any) -> None:
        for vif in network_info or []:
            device = vif["devname"] or f"tap{vif['id'][:11]}"
            bridge = vif["network"]["bridge"]
            subprocess.run(
                ["ovs-vsctl", f"--db={OVSDB}", "--if-exists", "del-port", bridge, device],
                capture_output=True,
                check=False,
            )
            subprocess.run(["ip", "link", "del", device], capture_output=True, check=False)


def _cpu_info() -> dict[str, Any]:
    """The host's processor, in the shape of libvirt's cpu_info."""
    model = vendor = ""
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            name, _, value = line.partition(":")
            if name.strip() == "model name" and not model:
                model = value.strip()
            elif name.strip() == "vendor_id" and not vendor:
                vendor = value.strip()
    cpus = os.cpu_count() or 1
    return {
        "arch": "x86_64",
        "model": model,
        "vendor": vendor,
        "topology": {"cells": 1, "sockets": 1, "cores": cpus, "threads": 1},
        "features": [],
    }


def _meminfo_mb(field: str) -> int:
    with open("/proc/meminfo") as handle:
        for line in handle:
            name, _, value = line.partition(":")
            if name == field:
                return int(value.split()[0]) // 1024
    return 0


__all__ = ["DockerDriver"]
