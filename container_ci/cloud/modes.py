"""Who may read what the local cloud leaves on disk: nobody but its owner.

Its state dir holds every service's configuration (database, RabbitMQ and
service-user passwords), logs that may quote tokens, the databases and the
Fernet keys: anyone who reads them is the cloud's admin, and the cloud's
compute drivers run containers as root. So the state dir is 0700 with
0700 directories and 0600 files in it, made so when they are created:
`lifecycle.up` runs under a umask of 077 (`container_ci.private`), which
every service it starts inherits. `WIDER` lists the paths whose modes are
another program's own decision, each with the reason it is harmless; a
state dir an older container-ci made (0755/0644) is tightened once
(`tighten_old_state`). doc/local_cloud.md, "Files and modes", says the same
for people."""

from __future__ import annotations

import fnmatch
from pathlib import Path

from container_ci import private
from container_ci.atomic import write_text_atomically
from container_ci.cloud.layout import Layout

# Relative to the state dir (fnmatch patterns); a directory's whole tree.
WIDER: tuple[tuple[str, str], ...] = (
    (
        "data/docker-*",
        "the container service's second Docker Engine's data root: dockerd sets its "
        "own umask (022) and modes (0710, 0711), and its image layers keep their "
        "images' modes (the guests' files); the state dir above it is 0700",
    ),
    (
        "run/dockerd-own.pid",
        "that dockerd's own pid file (0644, under its umask); run/ is 0700",
    ),
    (
        "run/docker-*.sock",
        "dockerd makes its socket 0660, group docker; run/ is 0700",
    ),
    (
        "run/mariadb.sock",
        "MariaDB binds its socket under a umask of 0 (0777); run/ is 0700, and its root "
        "account logs in by the peer's uid only",
    ),
    (
        "venv/*",
        "the services' virtualenv: `python -m venv` copies its activate scripts' mode "
        "from Python's own (0644), pip makes console scripts 0755 and a wheel's "
        "executables 0711, whatever the umask; code from PyPI, no secret; venv/ is 0700",
    ),
    (
        "zun-venv/*",
        "the container service's virtualenv, made the same way; zun-venv/ is 0700",
    ),
    (
        "data/neutron/dhcp/*/*",
        "the DHCP agent writes dnsmasq's files 0644 itself (neutron-lib's replace_file): "
        "the guests' MAC and IP addresses and names, no secret; data/neutron/ is 0700",
    ),
)


def is_wider(layout: Layout, path: Path) -> bool:
    """One of `WIDER` (a path under the state dir)."""
    try:
        relative = path.relative_to(layout.root).as_posix()
    except ValueError:
        return False
    return any(fnmatch.fnmatchcase(relative, pattern) for pattern, _ in WIDER)


def open_to_others(layout: Layout) -> list[Path]:
    """What in the state dir the group or others may read, write or enter,
    beyond `WIDER` (mounted guest file systems and symlinks aside)."""
    return private.open_to_others(layout.root, lambda path: is_wider(layout, path))


def tighten_old_state(layout: Layout, data_dir: Path) -> int:
    """The one chmod: a state dir an older container-ci left open to
    others (its root 0755) made owner-only, everything in it but `WIDER`
    and mounted guest disks; `data_dir` itself (which holds the state dir,
    the stability store and Tempest's workspaces) and the directory of the
    short Unix sockets (`Layout.mariadb_socket`) too. How many paths changed."""
    changed = private.tighten(layout.root, lambda path: is_wider(layout, path))
    changed += private.tighten(layout.mariadb_socket.parent, recursive=False)
    return changed + private.tighten(data_dir, recursive=False)


def forget_password(layout: Layout, password: str) -> bool:
    """An older container-ci wrote the password into the `manage` log (the
    command lines of keystone-manage bootstrap and nova-manage map_cell0):
    that log rewritten with it replaced. True if it was there."""
    log = layout.logfile("manage")
    try:
        text = log.read_text(errors="replace")  # a log: an odd byte may become U+FFFD
    except FileNotFoundError:
        return False
    if not password or password not in text:
        return False
    write_text_atomically(log, private.redact(text, password))
    return True
