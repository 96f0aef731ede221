"""Installing the local cloud: Debian packages and a virtualenv of its own.

The OpenStack services come from PyPI, pinned, into `<state>/venv` (apart
from the harness's venv: their dependency pins are theirs). Nova may come
from a checkout instead (`cloud up --nova-source DIR`: the change under
review, in a Zuul job). Reinstalled only when the pin list or the checkout's
commit changes."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from container_ci.cloud.layout import Layout
from container_ci.errors import CloudError
from container_ci.provision import packages

# The services' own releases (2025.2 "Flamingo"/2026.1 era), pinned together.
SERVICE_PACKAGES = (
    "keystone==30.0.0",
    "openstack-placement==16.0.0",
    "glance==33.0.0",
    "neutron==29.0.0",
    "nova==34.0.0",
    "gunicorn==27.0.1",
    "python-openstackclient==10.5.0",
    "PyMySQL==1.2.4",
    "libvirt-python",  # nova-compute's libvirt driver; built against libvirt-dev
    "docker==7.1.0",  # the Docker compute driver's (cci_nova_docker)
)
# mariadb-server: the services' databases; rabbitmq-server: the RPC bus of
# nova and neutron; qemu-utils: nova's image handling calls qemu-img;
# e2fsprogs: mkfs.ext4 -d builds the guest image; openvswitch-switch: the
# data plane (its userspace datapath); dnsmasq-base: the DHCP agent's
# server; dnsmasq-utils: its dhcp_release (without it a deleted port's lease
# stays, and dnsmasq offers that address to no new port: measured, a
# rebuilt guest got no lease); haproxy: the metadata proxy in each DHCP
# namespace; dropbear-bin: the guest's SSH server, copied into its image.
DEBIAN_PACKAGES = (
    "mariadb-server",
    "rabbitmq-server",
    "qemu-utils",
    "e2fsprogs",
    "openvswitch-switch",
    "dnsmasq-base",
    "dnsmasq-utils",
    "haproxy",
    "dropbear-bin",
    *packages.ALL_PACKAGES,
)


def _stamp_value(nova_source: Path | None = None) -> str:
    parts = list(SERVICE_PACKAGES)
    if nova_source is not None:
        parts.append(f"nova from {nova_source.resolve()} at {source_revision(nova_source)}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def install_packages(extra: tuple[str, ...] = ()) -> list[str]:
    """The cloud's Debian packages, and those of the components it runs."""
    return packages.install(DEBIAN_PACKAGES + extra)


STAMP = ".container-ci-services"  # in a venv: the digest of what was installed into it


def venv_is_current(venv: Path, stamp_value: str) -> bool:
    stamp = venv / STAMP
    return (
        (venv / "bin" / "python").exists()
        and stamp.exists()
        and stamp.read_text().strip() == stamp_value
    )


def ensure_venv(
    venv: Path,
    packages: tuple[str, ...],
    stamp_value: str,
    say: Callable[[str], None],
    what: str,
    then: Callable[[], None] | None = None,
) -> bool:
    """A venv of its own at `venv` holding `packages` (then whatever `then`
    adds), reinstalled only when `stamp_value` changes; True if anything was
    installed. The cloud's services and the container service each have one:
    their pins are not the harness's, nor each other's."""
    if venv_is_current(venv, stamp_value):
        return False
    if not (venv / "bin" / "python").exists():
        say(f"creating the {what} virtualenv {venv}")
        run_step([sys.executable, "-m", "venv", str(venv)], "python -m venv")
    say(f"installing {len(packages)} packages from PyPI into it (about a minute)")
    run_step(
        [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
         *packages],
        f"pip install ({what})",
    )  # fmt: skip
    if then is not None:
        then()
    (venv / STAMP).write_text(stamp_value + "\n")
    return True


def source_revision(source: Path) -> str:
    """The checkout's commit, and a digest of its uncommitted changes."""
    head = subprocess.run(
        ["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    if head.returncode != 0:
        raise CloudError(f"--nova-source {source}: not a git checkout of Nova")
    changes = subprocess.run(
        ["git", "-C", str(source), "diff", "HEAD"], capture_output=True, check=False
    ).stdout
    return f"{head.stdout.strip()}+{hashlib.sha256(changes).hexdigest()[:12]}"


def install_venv(
    layout: Layout, say: Callable[[str], None], nova_source: Path | None = None
) -> bool:
    """Create or update the services' venv; True if anything was installed.
    With `nova_source`, Nova is that checkout (its other pins stay)."""
    if nova_source is not None and not (nova_source / "setup.cfg").is_file():
        raise CloudError(f"--nova-source {nova_source}: no setup.cfg there, not a Nova checkout")

    def nova_from_source() -> None:
        if nova_source is not None:
            say(f"installing Nova from {nova_source} ({source_revision(nova_source)})")
            run_step(
                [str(layout.bin("pip")), "install", "--quiet", "--disable-pip-version-check",
                 str(nova_source)],
                f"pip install {nova_source}",
            )  # fmt: skip

    return ensure_venv(
        layout.venv, SERVICE_PACKAGES, _stamp_value(nova_source), say, "services'",
        nova_from_source,
    )  # fmt: skip


def run_step(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        errors = [
            line
            for line in done.stderr.splitlines()
            if line.strip() and not line.startswith("WARNING: Location")
        ]
        raise CloudError(f"{what} failed: {' '.join(errors[-3:])[:500]}")
