"""Debian packages container-ci needs, installed only when missing.

Runs with the standard library only, so the tools/ scripts can call it with
the system Python before the virtualenv (whose libvirt-python build needs
libvirt-dev) exists: `python3 -m container_ci.provision.packages build`."""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from container_ci.errors import PackageError

# What building the virtualenv needs (libvirt-python compiles against libvirt).
BUILD_PACKAGES = ("libvirt-dev", "pkg-config", "gcc")
# What the targets need at run time.
RUNTIME_PACKAGES = (
    "docker.io",
    "libvirt-daemon",
    "libvirt-daemon-driver-lxc",
    "libvirt-clients",
    "busybox-static",
    "dropbear-bin",  # the guest's SSH server (reached on a cloud's network)
)
ALL_PACKAGES = BUILD_PACKAGES + RUNTIME_PACKAGES


def is_installed(package: str) -> bool:
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode == 0 and result.stdout.strip().endswith("install ok installed")


def missing(packages: Sequence[str]) -> list[str]:
    return [package for package in packages if not is_installed(package)]


def _apt(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # Wait for dpkg's lock instead of failing when another apt runs (e.g. a
    # parallel test installing postgresql while another installs chromium).
    return subprocess.run(
        ["apt-get", "-q", "-y", "-o", "DPkg::Lock::Timeout=300", *args],
        capture_output=True,
        text=True,
        env=env,
        # The system's umask, not the owner-only one `setup` and `cloud up`
        # run under: maintainer scripts create system files others must read.
        umask=0o022,
        check=False,
    )


def _have_package_lists() -> bool:
    lists = Path("/var/lib/apt/lists")
    return any(lists.glob("*_Packages")) if lists.is_dir() else False


def install(packages: Sequence[str]) -> list[str]:
    """Install the missing ones; return what was installed. Raise PackageError."""
    if not missing(packages):
        return []
    with _install_lock():
        return _install_missing(packages)


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    """One installer at a time from this tool (apt's own lock then never races)."""
    with open("/tmp/container-ci-apt.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _install_missing(packages: Sequence[str]) -> list[str]:
    needed = missing(packages)  # again: another installer may have finished meanwhile
    if not needed:
        return []
    if os.geteuid() != 0:
        raise PackageError(f"missing Debian packages {' '.join(needed)}; installing needs root")
    if not _have_package_lists():
        _apt(["update"])
    result = _apt(["install", "--no-install-recommends", *needed])
    if result.returncode != 0:
        _apt(["update"])  # stale lists are the usual cause: refresh once and retry
        result = _apt(["install", "--no-install-recommends", *needed])
    if result.returncode != 0:
        last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:]
        raise PackageError(f"apt-get install {' '.join(needed)} failed: {' '.join(last)}")
    return needed


def main(argv: Sequence[str]) -> int:
    groups = {"build": BUILD_PACKAGES, "runtime": RUNTIME_PACKAGES, "all": ALL_PACKAGES}
    which = argv[0] if argv else "all"
    if which not in groups:
        print(f"usage: python -m container_ci.provision.packages [{'|'.join(groups)}]")
        return 2
    try:
        installed = install(groups[which])
    except PackageError as exc:
        print(f"packages: {exc}", file=sys.stderr)
        return 1
    print(f"packages: installed {' '.join(installed)}" if installed else "packages: nothing to do")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
