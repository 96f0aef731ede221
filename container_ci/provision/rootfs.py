"""Builds the guest root filesystem every target boots: busybox, a tiny init,
and for a cloud's guests (which have a network) DHCP and an SSH server.

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

from container_ci import private

BUSYBOX = Path("/bin/busybox")
# The SSH server a cloud's guest runs (Debian's dropbear-bin), with the
# shared libraries it loads, copied in at the paths it loads them from.
SSH_SERVER = Path("/usr/sbin/dropbear")
IMAGE_REPO = "cci-guest"
VARIANTS = ("base", "alt")
GUEST_DIRS = (
    "proc", "sys", "dev", "tmp", "root", "etc/cci", "etc/dropbear", "var/lib/cci", "var/log",
    "run", "bin", "sbin", "usr/bin", "usr/sbin",
)  # fmt: skip
# container_ci/provision/guest/<file> -> its path in the guest
GUEST_FILES = {
    "init": "sbin/init",
    "udhcpc.script": "etc/cci/udhcpc.script",
    "network-up": "etc/cci/network-up",
    "sudo": "usr/bin/sudo",
}


def guest_file(name: str) -> bytes:
    return resources.files("container_ci.provision").joinpath(f"guest/{name}").read_bytes()


def init_script() -> bytes:
    return guest_file("init")


def shared_libraries(binary: Path) -> list[Path]:
    """What the dynamic loader maps for `binary`, the loader itself included,
    as ldd names them."""
    listing = subprocess.run(
        ["ldd", str(binary)], check=True, capture_output=True, text=True
    ).stdout
    found = []
    for line in listing.splitlines():
        words = line.split()
        path = words[2] if "=>" in words and len(words) > 2 else words[0] if words else ""
        if path.startswith("/"):
            found.append(Path(path))
    return found


def guest_hash() -> str:
    """Changes whenever what goes into the guest changes (its files, busybox,
    the SSH server and its libraries): images are rebuilt then."""
    digest = hashlib.sha256()
    for name in sorted(GUEST_FILES):
        digest.update(guest_file(name))
    for binary in (BUSYBOX, SSH_SERVER, *shared_libraries(SSH_SERVER)):
        digest.update(binary.read_bytes())
    return digest.hexdigest()[:16]


def image_ref(variant: str) -> str:
    return f"{IMAGE_REPO}:{variant}"


def _applets() -> list[str]:
    listing = subprocess.run(
        [str(BUSYBOX), "--list"], check=True, capture_output=True, text=True
    ).stdout
    return [name for name in listing.split() if name and name != "busybox"]


def build_rootfs(destination: Path, variant: str) -> None:
    """Write a bootable rootfs into `destination` (which must not exist),
    with a distribution's modes (0755 directories, 0644 files) whatever
    the caller's umask: the guest's files are the guest's, and `setup` and
    `cloud up` run under an owner-only one."""
    with private.system_default():
        _build_rootfs(destination, variant)


def _build_rootfs(destination: Path, variant: str) -> None:
    destination.mkdir(parents=True)
    for relative in GUEST_DIRS:
        (destination / relative).mkdir(parents=True, exist_ok=True)
    os.chmod(destination / "tmp", 0o1777)
    shutil.copy2(BUSYBOX, destination / "bin" / "busybox")
    for applet in _applets():
        link = destination / "bin" / applet
        if not link.exists():
            link.symlink_to("busybox")
    for name, relative in GUEST_FILES.items():
        path = destination / relative
        if path.exists() or path.is_symlink():
            path.unlink()
        path.write_bytes(guest_file(name))
        path.chmod(0o755)
    for binary in (SSH_SERVER, *shared_libraries(SSH_SERVER)):
        copy = destination / binary.relative_to("/")
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(binary, copy)  # the file itself, where a symlink names it
        copy.chmod(0o755)
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
