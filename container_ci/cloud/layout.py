"""Where the local cloud keeps everything, and the ports it listens on.

One state dir holds the virtualenv, the generated configuration, databases,
images, pid files and logs, so `down` and a sweep know exactly what is ours."""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from container_ci import paths
from container_ci.errors import CloudError

ENV_STATE_DIR = "CONTAINER_CI_CLOUD_DIR"
CLOUD_NAME = "container-ci-local"
REGION = "RegionOne"
HOST = "127.0.0.1"
# Nova names its libvirt domains after this template: recognisable in
# `virsh list`, and outside the `cci-` prefix the local targets sweep.
INSTANCE_NAME_TEMPLATE = "nova-cci-%08x"

# One block of loopback ports, away from the usual defaults (5000, 5672, 8774...)
# so a system service of the same kind does not collide with ours.
PORTS = {
    "keystone": 24500,
    "glance": 24501,
    "placement": 24502,
    "neutron": 24503,
    "nova-api": 24504,
    "rabbitmq": 24505,
    "rabbitmq-dist": 24506,
    "epmd": 24507,
    "nova-metadata": 24508,
    "openflow": 24509,  # the OVS agent's OpenFlow controller, for its bridges
    "zun-api": 24510,
    "kuryr": 24511,  # kuryr-libnetwork: Docker's network plugin for the container service
}


def default_state_dir() -> Path:
    explicit = os.environ.get(ENV_STATE_DIR)
    return Path(explicit) if explicit else paths.data_dir() / "cloud"


@dataclass(frozen=True)
class Layout:
    root: Path

    @classmethod
    def default(cls) -> Layout:
        return cls(default_state_dir())

    @property
    def venv(self) -> Path:
        return self.root / "venv"

    def bin(self, name: str) -> Path:
        return self.venv / "bin" / name

    @property
    def zun_venv(self) -> Path:
        """The container service's (Zun, kuryr): its pins are not Nova's."""
        return self.root / "zun-venv"

    def zun_bin(self, name: str) -> Path:
        return self.zun_venv / "bin" / name

    @property
    def second_docker_socket(self) -> Path:
        """The container service's second Docker Engine (host cci-zun-2)."""
        return self._short_socket("docker-cci-zun-2.sock")

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    def config_dir(self, service: str) -> Path:
        return self.etc / service

    @property
    def data(self) -> Path:
        return self.root / "data"

    def database_url(self, name: str, password: str) -> str:
        return (
            f"mysql+pymysql://cci:{password}@localhost/{name}"
            f"?unix_socket={self.mariadb_socket}&charset=utf8mb4"
        )

    @property
    def mariadb_data(self) -> Path:
        return self.data / "mariadb"

    @property
    def mariadb_socket(self) -> Path:
        """In run/, unless that path is too long for a Unix socket (107 bytes):
        then in a directory of /tmp named after the state dir."""
        return self._short_socket("mariadb.sock")

    def _short_socket(self, name: str) -> Path:
        socket = self.run / name
        if len(str(socket)) <= 100:
            return socket
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"cci-cloud-{digest}" / name

    def make_socket_dir(self, socket: Path) -> None:
        """The directory of one of the cloud's sockets, made if missing.
        When it is the one in /tmp (a long state dir), its name is known to
        every local user, who could make it first and put a socket of their
        own where the services send the password: it must be a directory of
        ours that only we can enter."""
        directory = socket.parent
        directory.mkdir(parents=True, exist_ok=True)
        if directory == self.run:
            return
        status = directory.lstat()
        if (
            not stat.S_ISDIR(status.st_mode)
            or status.st_uid != os.geteuid()
            or status.st_mode & 0o077
        ):
            raise CloudError(
                f"{directory}: not a directory of this user's that only it can enter "
                f"(owner uid {status.st_uid}, mode {stat.S_IMODE(status.st_mode):o}): "
                "remove it, then `up` again"
            )

    @property
    def run(self) -> Path:
        return self.root / "run"

    def pidfile(self, service: str) -> Path:
        return self.run / f"{service}.pid"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def logfile(self, service: str) -> Path:
        return self.logs / f"{service}.log"

    @property
    def instances(self) -> Path:
        return self.data / "nova" / "instances"

    @property
    def lock_path(self) -> Path:
        return self.data / "locks"

    @property
    def ovs_database(self) -> Path:
        return self.data / "openvswitch" / "conf.db"

    @property
    def metadata_socket(self) -> Path:
        """Where the DHCP namespaces' metadata proxies reach the metadata agent."""
        return self.data / "neutron" / "metadata_proxy"

    @property
    def state_file(self) -> Path:
        """What bootstrap created (ids, password): later `up`s reuse it."""
        return self.root / "state.json"

    def url(self, service: str, path: str = "") -> str:
        return f"http://{HOST}:{PORTS[service]}{path}"

    def make_dirs(self) -> None:
        for directory in (
            self.etc,
            self.data / "rabbitmq",
            self.run,
            self.logs,
            self.instances,
            self.lock_path,
        ):
            directory.mkdir(parents=True, exist_ok=True)
