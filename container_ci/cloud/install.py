"""Installing the local cloud: Debian packages and a virtualenv of its own.

The OpenStack services come from PyPI, pinned, into `<state>/venv` (apart
from the harness's venv: their dependency pins are theirs). Reinstalled only
when the pin list changes."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable

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
)
# mariadb-server: the services' databases; rabbitmq-server: the RPC bus of
# nova and neutron; qemu-utils: nova's image handling calls qemu-img;
# e2fsprogs: mkfs.ext4 -d builds the guest image.
DEBIAN_PACKAGES = (
    "mariadb-server",
    "rabbitmq-server",
    "qemu-utils",
    "e2fsprogs",
    *packages.ALL_PACKAGES,
)


def _stamp_value() -> str:
    return hashlib.sha256("\n".join(SERVICE_PACKAGES).encode()).hexdigest()


def install_packages() -> list[str]:
    return packages.install(DEBIAN_PACKAGES)


def venv_is_current(layout: Layout) -> bool:
    stamp = layout.venv / ".container-ci-services"
    return (
        layout.bin("python").exists()
        and stamp.exists()
        and stamp.read_text().strip() == _stamp_value()
    )


def install_venv(layout: Layout, say: Callable[[str], None]) -> bool:
    """Create or update the services' venv; True if anything was installed."""
    if venv_is_current(layout):
        return False
    if not layout.bin("python").exists():
        say(f"creating the services' virtualenv {layout.venv}")
        _run([sys.executable, "-m", "venv", str(layout.venv)], "python -m venv")
    say(f"installing {len(SERVICE_PACKAGES)} packages from PyPI into it (about a minute)")
    _run(
        [
            str(layout.bin("pip")),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *SERVICE_PACKAGES,
        ],
        "pip install",
    )
    (layout.venv / ".container-ci-services").write_text(_stamp_value() + "\n")
    return True


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        errors = [
            line
            for line in done.stderr.splitlines()
            if line.strip() and not line.startswith("WARNING: Location")
        ]
        raise CloudError(f"{what} failed: {' '.join(errors[-3:])[:500]}")
