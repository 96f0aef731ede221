"""The guest image Nova boots: the harness's busybox rootfs (its init prints
the boot marker and exits on SIGTERM, which is how libvirt's LXC driver asks a
container to shut down, so stop and soft reboot finish at once instead of
after Nova's fallback timeouts) as a raw ext4 file system image."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from container_ci.errors import CloudError
from container_ci.provision import rootfs

IMAGE_SIZE = "32M"


def image_name(variant: str) -> str:
    return f"cci-guest-{variant}"


def build(destination: Path, variant: str) -> Path:
    """`destination/cci-guest-<variant>-<hash>.raw`, built unless it exists."""
    path = destination / f"{image_name(variant)}-{rootfs.guest_hash()}.raw"
    if path.exists():
        return path
    destination.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=destination) as scratch:
        tree = Path(scratch) / "rootfs"
        rootfs.build_rootfs(tree, variant)
        partial = Path(scratch) / "image.raw"
        done = subprocess.run(
            ["mkfs.ext4", "-q", "-F", "-L", "cci-guest", "-d", str(tree), str(partial), IMAGE_SIZE],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise CloudError(f"mkfs.ext4 -d failed: {done.stderr.strip()}")
        partial.rename(path)
    return path
