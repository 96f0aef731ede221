"""Where the local Zuul keeps everything, and the ports it listens on.

One state dir (`DATA_DIR/zuul`) holds the venv, the generated secrets and
configuration, the git repositories Zuul reads, the databases, pid files and
logs, so `down` and `status` know exactly what is ours, and `--purge` can
remove all of it but the installed software."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from container_ci import paths, private

HOST = "127.0.0.1"
# What cannot live in the state dir (see `postgres`, `job_dir`), named after it.
POSTGRES_PARENT = Path("/var/lib/container-ci")
TENANT = "local"
CANONICAL_HOSTNAME = "opendev.org"
CONFIG_PROJECT = "local/zuul-config"
OWN_PROJECT = "openstack/container-ci"

# Away from the local cloud's block (24500-24511) and from every default
# (2181/2281, 5432, 22, 9000, 7900, 8080), so a system service or the cloud
# never collides with ours.
PORTS = {
    "zookeeper": 24601,
    "postgresql": 24602,  # the number names its Unix socket; no TCP listener
    "sshd": 24603,
    "zuul-web": 24604,
    "finger": 24605,  # the executor's log streaming (finger) server
    "logs": 24606,  # the static HTTP server of build logs (log_url)
}


@dataclass(frozen=True)
class Layout:
    root: Path
    # Where what cannot live in the state dir goes (see `postgres`, `job_dir`).
    outside: Path = POSTGRES_PARENT

    @classmethod
    def default(cls) -> Layout:
        return cls(paths.data_dir() / "zuul")

    # -- software ------------------------------------------------------------
    @property
    def venv(self) -> Path:
        return self.root / "venv"

    def bin(self, name: str) -> Path:
        return self.venv / "bin" / name

    @property
    def ansible_root(self) -> Path:
        """Where zuul-manage-ansible puts Ansible's venvs (kept by --purge)."""
        return self.root / "ansible"

    # -- secrets (0700 dir, 0600 files) --------------------------------------
    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    def secret(self, name: str) -> Path:
        return self.secrets / name

    # -- configuration -------------------------------------------------------
    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def zuul_conf(self) -> Path:
        """Holds the JWT secret and the keystore password: a secret itself."""
        return self.secret("zuul.conf")

    @property
    def zoo_cfg(self) -> Path:
        return self.etc / "zoo.cfg"

    @property
    def sshd_config(self) -> Path:
        return self.etc / "sshd_config"

    @property
    def tenant_config(self) -> Path:
        return self.etc / "main.yaml"

    @property
    def site_variables(self) -> Path:
        return self.etc / "site-variables.yaml"

    # -- data ----------------------------------------------------------------
    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def git(self) -> Path:
        """The bare repositories of the `git` connection (its baseurl)."""
        return self.root / "git"

    def repo(self, project: str) -> Path:
        return self.git / project

    @property
    def zookeeper_data(self) -> Path:
        return self.data / "zookeeper"

    @property
    def postgres(self) -> Path:
        """The PostgreSQL cluster and its socket directory, owned by user
        postgres. Outside the state dir: the server runs as postgres, which
        cannot traverse a 0700 state dir (nor /root, where it usually is).
        Named after the state dir, so two state dirs have two clusters."""
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:12]
        return self.outside / f"zuul-postgres-{digest}"

    @property
    def postgres_data(self) -> Path:
        return self.postgres / "data"

    @property
    def postgres_socket_dir(self) -> Path:
        return self.postgres / "socket"

    @property
    def zuul_state(self) -> Path:
        """Zuul's own state_dir (the executor's git cache, the keystore backups)."""
        return self.data / "zuul"

    @property
    def job_dir(self) -> Path:
        """The executor's build directories: a short path outside the state
        dir. Ansible's ssh control socket is `<job_dir>/<uuid>/.ansible/cp/
        <10 chars>` plus ssh's 17-character temporary suffix, and a Unix
        socket path has at most 107 bytes: under `~/.local/share/...` every
        connection to the node failed after authenticating."""
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:8]
        return self.outside / f"zb-{digest}"

    @property
    def served_logs(self) -> Path:
        """What the log server serves: each build's logs under its uuid."""
        return self.data / "logs"

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

    def url(self, service: str, path: str = "") -> str:
        return f"http://{HOST}:{PORTS[service]}{path}"

    def make_dirs(self) -> None:
        """The state dir and everything in it 0700 (secrets 0600); `outside`
        0711: user postgres must traverse it to its cluster, nobody lists it."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)
        private.make_dir(self.outside, 0o711)
        for directory in (
            self.secrets,
            self.etc,
            self.data,
            self.git,
            self.zookeeper_data,
            self.zuul_state,
            self.job_dir,
            self.served_logs,
            self.run,
            self.logs,
        ):
            directory.mkdir(parents=True, exist_ok=True)
            directory.chmod(0o700)
