"""The generated configuration files of the local Zuul's processes.

Each is a pure function of the layout and the secrets (tested without
running anything), written by `write_all`. What each option is for, and
what broke without it, is in ../shared/research/zuul.md."""

from __future__ import annotations

import os
from pathlib import Path

from container_ci.localzuul.credentials import Secrets
from container_ci.localzuul.layout import CANONICAL_HOSTNAME, HOST, PORTS, TENANT, Layout
from container_ci.localzuul.node import NODE_USER, SUDOERS

# Debian's zookeeper.jar manifest omits these; without them every TLS
# connection dies with NoClassDefFoundError (io/netty/handler/codec/...).
NETTY_JARS = (
    "/usr/share/java/netty-codec.jar",
    "/usr/share/java/netty-resolver.jar",
    "/usr/share/java/netty-transport-native-unix-common.jar",
)
ZOOKEEPER_CLASSPATH = (
    "/usr/share/java/zookeeper.jar",
    *NETTY_JARS,
    "/usr/share/java/slf4j-simple.jar",  # its log lines, to stderr (our log file)
)
# The node's Python: interpreter discovery on 127.0.0.1 may find a pyenv
# shim that fails (research, pitfall 4); python-path on the image never
# reached a static node's inventory in 14.3.
NODE_PYTHON = "/usr/bin/python3"
DATABASE = "zuul"
# How often the git driver reads our bare repositories' refs. The scheduler
# knows a repository's new commit only from this poll (a full-reconfigure
# before it reloads the old one: measured), so `up` waits it out after
# rewriting them. 60 local `git ls-remote`s each time: cheap at 10 s.
GIT_POLL_DELAY = 10


def zoo_cfg(layout: Layout, secrets: Secrets) -> str:
    """TLS only, on 127.0.0.1, client certificates required; no plain port,
    no AdminServer (it would take 8080 on every address)."""
    return "\n".join(
        [
            "tickTime=2000",
            "initLimit=10",
            "syncLimit=5",
            f"dataDir={layout.zookeeper_data}",
            f"secureClientPort={PORTS['zookeeper']}",
            f"secureClientPortAddress={HOST}",
            "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory",
            "ssl.clientAuth=need",
            f"ssl.keyStore.location={secrets.server_pem}",
            "ssl.keyStore.type=PEM",
            f"ssl.trustStore.location={secrets.ca_cert}",
            "ssl.trustStore.type=PEM",
            "ssl.hostnameVerification=false",
            "admin.enableServer=false",
            "4lw.commands.whitelist=",
            "autopurge.snapRetainCount=3",
            "autopurge.purgeInterval=1",
            "",
        ]
    )


def zookeeper_argv(layout: Layout) -> list[str]:
    return [
        "java",
        "-Xmx512m",
        "-Dzookeeper.log.dir=" + str(layout.logs),
        "-cp",
        ":".join(ZOOKEEPER_CLASSPATH),
        "org.apache.zookeeper.server.quorum.QuorumPeerMain",
        str(layout.zoo_cfg),
    ]


def database_uri(layout: Layout) -> str:
    """PostgreSQL over its Unix socket (no TCP): only root and postgres can
    reach the socket directory, so trust authentication is safe."""
    return (
        f"postgresql://postgres@/{DATABASE}"
        f"?host={layout.postgres_socket_dir}&port={PORTS['postgresql']}"
    )


def zuul_conf(layout: Layout, secrets: Secrets) -> str:
    """No `[connection timer]` (the timer is implicit, and a section for it
    crashes every component in 14.3); the git connection reads our bare repos."""
    run = layout.run
    return f"""\
[zookeeper]
hosts={HOST}:{PORTS["zookeeper"]}
tls_cert={secrets.client_cert}
tls_key={secrets.client_key}
tls_ca={secrets.ca_cert}
session_timeout=40

[keystore]
password={secrets.keystore_password}

[database]
dburi={database_uri(layout)}

[scheduler]
tenant_config={layout.tenant_config}
command_socket={run / "scheduler.socket"}
state_dir={layout.zuul_state}

[merger]
git_dir={layout.zuul_state / "executor-git"}
git_user_email=zuul@container-ci.local
git_user_name=container-ci local zuul

[executor]
command_socket={run / "executor.socket"}
state_dir={layout.zuul_state}
job_dir={layout.job_dir}
git_dir={layout.zuul_state / "executor-git"}
private_key_file={secrets.ssh_key}
default_username={NODE_USER}
ansible_root={layout.ansible_root}
manage_ansible=false
hostname={HOST}
finger_port={PORTS["finger"]}
load_multiplier=100
min_avail_mem=0
min_avail_hdd=0
variables={layout.site_variables}
trusted_rw_paths={layout.served_logs}:{SUDOERS.parent}

[web]
listen_address={HOST}
port={PORTS["zuul-web"]}
root={layout.url("zuul-web")}
command_socket={run / "web.socket"}

[launcher]
command_socket={run / "launcher.socket"}

[auth zuul_operator]
driver=HS256
allow_authz_override=true
realm=container-ci.local
client_id=zuul.container-ci.local
issuer_id=zuul_operator
secret={secrets.jwt_secret}
max_validity_time=36000

[connection git]
driver=git
baseurl={layout.git}
canonical_hostname={CANONICAL_HOSTNAME}
poll_delay={GIT_POLL_DELAY}

[connection static]
driver=static
"""


def site_variables() -> str:
    return f"ansible_python_interpreter: {NODE_PYTHON}\n"


def sshd_config(layout: Layout, secrets: Secrets) -> str:
    """The static node: our own sshd on 127.0.0.1, the node user only
    (node.py; never root), the executor's key only (in the user's
    ~/.ssh/authorized_keys, which sshd reads as the user)."""
    return "\n".join(
        [
            f"Port {PORTS['sshd']}",
            f"ListenAddress {HOST}",
            f"HostKey {secrets.host_key}",
            f"PidFile {layout.run / 'sshd.own.pid'}",
            "AuthorizedKeysFile .ssh/authorized_keys",
            "StrictModes yes",
            "PermitRootLogin no",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "X11Forwarding no",
            "AllowTcpForwarding no",
            "PrintMotd no",
            f"AllowUsers {NODE_USER}",
            "Subsystem sftp internal-sftp",
            "",
        ]
    )


def sshd_argv(layout: Layout) -> list[str]:
    """-D: stays in the foreground (its pid is ours); -e: log to stderr."""
    return ["/usr/sbin/sshd", "-D", "-e", "-f", str(layout.sshd_config)]


EXECUTOR_WRAPPER = '''\
"""zuul-executor with its log streamer (finger) on 127.0.0.1.

Zuul 14.3 binds the executor's log streamer to '::' (every address) and has
no option for it; everything of container-ci's local Zuul listens on
127.0.0.1 only, so the host is replaced before the executor forks it."""
import sys

import zuul.lib.log_streamer as log_streamer

_init = log_streamer.LogStreamer.__init__


def _on_loopback(self, host, port, jobdir_root):
    _init(self, "127.0.0.1", port, jobdir_root)


log_streamer.LogStreamer.__init__ = _on_loopback

from zuul.cmd.executor import main  # noqa: E402

sys.exit(main())
'''


def executor_wrapper(layout: Layout) -> Path:
    return layout.etc / "zuul-executor-on-loopback.py"


def zuul_argv(layout: Layout, component: str) -> list[str]:
    """A Zuul component in the foreground (-f) with debug logs (-d)."""
    if component == "executor":
        program = [str(layout.bin("python")), str(executor_wrapper(layout))]
    else:
        program = [str(layout.bin(f"zuul-{component}"))]
    return [*program, "-f", "-d", "-c", str(layout.zuul_conf)]


def log_server_argv(layout: Layout) -> list[str]:
    """Debian's Python's http.server: the build logs directory, read only."""
    return [
        "/usr/bin/python3",
        "-m",
        "http.server",
        "--bind",
        HOST,
        "--directory",
        str(layout.served_logs),
        str(PORTS["logs"]),
    ]


def tenant_yaml(untrusted: list[tuple[str, list[str] | None]], config_project: str) -> str:
    """main.yaml: the config project, then each untrusted project with the
    configuration classes it may contribute (None: all of them); no Nodepool."""
    lines = [
        "- tenant:",
        f"    name: {TENANT}",
        # Node requests go to zuul-launcher only, never to a Nodepool (there
        # is none): a label no provider offers fails the request at once
        # (NODE_FAILURE) instead of waiting forever, and every label a
        # nodeset names must be defined.
        "    use-nodepool: false",
        "    source:",
        "      git:",
        "        config-projects:",
        f"          - {config_project}",
        "        untrusted-projects:",
    ]
    for name, include in untrusted:
        if include is None:
            lines.append(f"          - {name}")
        else:
            lines.append(f"          - {name}:")
            lines.append(f"              include: [{', '.join(include)}]")
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str, mode: int = 0o600) -> bool:
    """Write when changed; True if it was."""
    if path.exists() and path.read_text() == text:
        path.chmod(mode)
        return False
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    path.chmod(mode)
    return True


def write_all(layout: Layout, secrets: Secrets) -> None:
    """Every generated file but the tenant's (written with its repositories)."""
    _write(layout.zoo_cfg, zoo_cfg(layout, secrets))
    _write(layout.zuul_conf, zuul_conf(layout, secrets))
    _write(layout.site_variables, site_variables())
    _write(layout.sshd_config, sshd_config(layout, secrets))
    _write(executor_wrapper(layout), EXECUTOR_WRAPPER)


def write_tenant(layout: Layout, text: str) -> bool:
    return _write(layout.tenant_config, text)
