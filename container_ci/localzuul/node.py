"""The static node's user: a dedicated account, not root.

The node is this machine, not a disposable VM. Zuul's base pre-run
synchronises the prepared repositories into `~/src` with `delete`, the
tox jobs install tox into `~/.local`, and the post-run and cleanup
playbooks remove the workspace again: done as root, all of that happens in
root's home, where a developer's own `~/src` would be wiped by the first
build. So builds log in as `NODE_USER`, whose home (`NODE_HOME`) holds
nothing but builds, and become root through sudo for what needs it, as
the `zuul` user of an OpenStack CI node does (the jobs' playbooks say
`become: true` where they need root).

The account has no password (`*`: none matches) and no login but through the
local Zuul's own sshd on 127.0.0.1 with the executor's key, so the
passwordless sudo it is given is reachable only by the local Zuul's
builds."""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

from container_ci.localzuul.errors import ZuulError
from container_ci.localzuul.layout import POSTGRES_PARENT, Layout

NODE_USER = "cci-zuul-node"
NODE_HOME = POSTGRES_PARENT / "zuul-node"
# The name an OpenStack CI node's sudo rule has: zuul-jobs' revoke-sudo
# (the tox jobs' run playbook) removes exactly this file and then proves
# sudo is gone. A node there is used once; this one is reused, so the base
# job's trusted playbooks put the rule back before each build and before
# its cleanup (tenant.py: `restore_sudo_play`), from the executor, which
# may write here (`trusted_rw_paths`).
SUDOERS = Path("/etc/sudoers.d/zuul")
SUDOERS_RULE = (
    "# container-ci's local Zuul: builds become root on the static node\n"
    f"{NODE_USER} ALL=(ALL) NOPASSWD: ALL\n"
)


def ensure(layout: Layout) -> Path:
    """The node user, its sudo rule, and the executor's public key as its
    only authorized key (sshd reads `~/.ssh/authorized_keys` as the user,
    so it cannot live in the 0700 state dir). Returns the user's home."""
    account = _account()
    home = Path(account.pw_dir)
    ssh = home / ".ssh"
    ssh.mkdir(mode=0o700, exist_ok=True)
    keys = ssh / "authorized_keys"
    public_key = layout.secret("id_ed25519.pub").read_text()
    if not keys.exists() or keys.read_text() != public_key:
        descriptor = os.open(keys, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(public_key)
    for path in (home, ssh, keys):
        os.chown(path, account.pw_uid, account.pw_gid)
    # Others may pass through, not list: the jobs' data dir (the local
    # cloud) is in here, and oslo.privsep's daemons run as root with
    # CAP_SYS_ADMIN only, so without the x bit root itself could not reach
    # its venv (measured: neutron's DHCP agent failed to import
    # neutron.privileged.agent, and no server got a DHCP port).
    home.chmod(0o711)
    _unlock(account.pw_name)
    _ensure_sudo_rule()
    return home


def _unlock(user: str) -> None:
    """No password, but not locked: useradd leaves `!` in /etc/shadow, and
    sshd (UsePAM no) refuses every login of a locked account, keys too.
    `*` matches no password, so only the key lets anyone in."""
    for line in Path("/etc/shadow").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name == user and rest.startswith("!"):
            _run(["usermod", "--password", "*", user], f"usermod --password '*' {user}")


def _account() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(NODE_USER)
    except KeyError:
        pass
    NODE_HOME.parent.mkdir(parents=True, exist_ok=True)
    _run(
        ["useradd", "--system", "--create-home", "--home-dir", str(NODE_HOME),
         "--shell", "/bin/bash", "--comment", "container-ci local Zuul static node",
         NODE_USER],
        f"useradd {NODE_USER}",
    )  # fmt: skip
    return pwd.getpwnam(NODE_USER)


def _ensure_sudo_rule() -> None:
    """Written whole or not at all, and checked by visudo first: a broken
    file in /etc/sudoers.d breaks sudo for everyone."""
    if SUDOERS.exists() and SUDOERS.read_text() == SUDOERS_RULE:
        return
    candidate = SUDOERS.with_name(".zuul.new")  # a dotted name sudo never reads
    descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o440)
    os.fchmod(descriptor, 0o440)  # sudo's mode, whatever `zuul up`'s umask (077) made of it
    with os.fdopen(descriptor, "w") as handle:
        handle.write(SUDOERS_RULE)
    try:
        _run(["visudo", "-c", "-q", "-f", str(candidate)], "visudo -c")
        candidate.replace(SUDOERS)
    finally:
        candidate.unlink(missing_ok=True)


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ZuulError(f"{what} failed (exit {done.returncode}): {done.stderr.strip()[-300:]}")
