"""Installing the local Zuul: Debian packages, and a venv of its own.

Zuul's venv is built from Debian's `/usr/bin/python3`, never from the
interpreter running container-ci (a pyenv build here): the executor runs
Ansible inside bubblewrap, which mounts the system's directories only, and
the Ansible venvs zuul-manage-ansible makes link back to that interpreter
(research, pitfall 5). Reinstalled only when the pins change (a stamp)."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from container_ci.localzuul.errors import ZuulError
from container_ci.localzuul.layout import Layout
from container_ci.provision import packages

SYSTEM_PYTHON = Path("/usr/bin/python3")
ZUUL_PACKAGES = ("zuul==14.3.0", "zuul-client==14.0.0")
# zookeeper (+ its JRE); libnetty-java: the Netty jars ZooKeeper's TLS needs
# and its Debian classpath lacks; bubblewrap: the executor's sandbox;
# openssh-server: the static node's sshd (our own instance, not Debian's);
# postgresql: Zuul's database; python3-venv: to build Zuul's venv; sudo: the
# node user's way to root (node.py), as on an OpenStack CI node.
DEBIAN_PACKAGES = (
    "zookeeper",
    "libnetty-java",
    "default-jre-headless",
    "bubblewrap",
    "openssh-server",
    "postgresql",
    "python3-venv",
    "git",
    "openssl",
    "sudo",
)
STAMP = ".container-ci-zuul"

Say = Callable[[str], None]


def stamp_value() -> str:
    return hashlib.sha256("\n".join((*ZUUL_PACKAGES, "ansible:all")).encode()).hexdigest()


def installed(layout: Layout) -> bool:
    stamp = layout.venv / STAMP
    return (
        layout.bin("zuul-scheduler").exists()
        and stamp.exists()
        and stamp.read_text().strip() == stamp_value()
    )


def install(layout: Layout, say: Say) -> bool:
    """Everything the local Zuul runs on; True if anything was installed."""
    added = packages.install(DEBIAN_PACKAGES)
    if added:
        say(f"installed Debian packages {' '.join(added)}")
    if installed(layout):
        return bool(added)
    if not (layout.venv / "bin" / "python").exists():
        say(f"creating Zuul's virtualenv {layout.venv} from {SYSTEM_PYTHON}")
        run_step([str(SYSTEM_PYTHON), "-m", "venv", str(layout.venv)], "python3 -m venv")
    say(f"installing {' '.join(ZUUL_PACKAGES)} from PyPI into it (about a minute)")
    run_step(
        [str(layout.bin("pip")), "install", "--quiet", "--disable-pip-version-check",
         *ZUUL_PACKAGES],
        "pip install zuul",
    )  # fmt: skip
    say("installing the executor's Ansible with zuul-manage-ansible (about a minute)")
    run_step(manage_ansible_argv(layout), "zuul-manage-ansible")
    (layout.venv / STAMP).write_text(stamp_value() + "\n")
    return True


def manage_ansible_argv(layout: Layout) -> list[str]:
    """Every Ansible version Zuul supports (9 and 11 in 14.3, about 1.6 GB).
    Only the default would save 0.8 GB, but zuul-manage-ansible has no option
    to choose, and the executor validates every supported version at start
    and refuses to run (manage_ansible=false) or installs them all itself
    (true) when one is missing: read in zuul 14.3's executor/server.py."""
    return [str(layout.bin("zuul-manage-ansible")), "-r", str(layout.ansible_root)]


def run_step(argv: list[str], what: str, env: dict[str, str] | None = None) -> str:
    """Run a step niced (a Tempest run may share the machine); its output,
    or ZuulError with the last lines of its error output."""
    done = subprocess.run(
        ["nice", "-n", "19", *argv],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    if done.returncode != 0:
        errors = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        raise ZuulError(f"{what} failed (exit {done.returncode}): {' '.join(errors[-3:])[:500]}")
    return done.stdout
