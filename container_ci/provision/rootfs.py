"""Builds the guest root filesystem both backends boot: busybox plus a tiny init.

No registry is reachable, so images are made locally from Debian's
busybox-static. `alt` differs from `base` only in /etc/cci-image, which is
what rebuild and exec steps check."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
from importlib import resources
from pathlib import Path

BUSYBOX = Path("/bin/busybox")
IMAGE_REPO = "cci-guest"
VARIANTS = ("base", "alt")
GUEST_DIRS = ("proc", "sys", "dev", "tmp", "root", "etc", "var/lib/cci", "run", "bin", "sbin")


def init_script() -> bytes:
    return resources.files("container_ci.provision").joinpath("guest/init").read_bytes()


def guest_hash() -> str:
    """Changes whenever the init script or busybox changes: images are rebuilt then."""
    digest = hashlib.sha256(init_script())
    digest.update(BUSYBOX.read_bytes())
    return digest.hexdigest()[:16]


def image_ref(variant: str) -> str:
    return f"{IMAGE_REPO}:{variant}"


def _applets() -> list[str]:
    listing = subprocess.run(
        [str(BUSYBOX), "--list"], check=True, capture_output=True, text=True
    ).stdout
    return [name for name in listing.split() if name and name != "busybox"]


def build_rootfs(destination: Path, variant: str) -> None:
    """Write a bootable rootfs into `destination` (which must not exist)."""
    destination.mkdir(parents=True)
    for relative in GUEST_DIRS:
        (destination / relative).mkdir(parents=True, exist_ok=True)
    os.chmod(destination / "tmp", 0o1777)
    shutil.copy2(BUSYBOX, destination / "bin" / "busybox")
    for applet in _applets():
        link = destination / "bin" / applet
        if not link.exists():
            link.symlink_to("busybox")
    init = destination / "sbin" / "init"
    if init.exists() or init.is_symlink():
        init.unlink()
    init.write_bytes(init_script())
    init.chmod(0o755)
    (destination / "etc" / "cci-image").write_text(f"{variant}\n")
    (destination / "etc" / "hostname").write_text("cci-guest\n")
    (destination / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (destination / "etc" / "group").write_text("root:x:0:\n")


def rootfs_tar(source: Path) -> bytes:
    """The rootfs as an uncompressed tar, for `docker import`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for entry in sorted(source.iterdir()):
            tar.add(entry, arcname=entry.name)
    return buffer.getvalue()
