"""Base images for both targets, built locally (no registry): `cci-guest:base`
and `cci-guest:alt`. Each carries the hash of the guest (init + busybox) and is
rebuilt only when that hash changes."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from container_ci import naming, paths
from container_ci.errors import InfrastructureError
from container_ci.provision import rootfs
from container_ci.targets.lxc_images import LxcImageStore

LABEL_GUEST_HASH = f"{naming.LABEL_NS}.guest-hash"


def base_labels(variant: str, digest: str) -> dict[str, str]:
    return {
        naming.LABEL_OWNER: naming.OWNER_VALUE,
        naming.LABEL_KIND: naming.KIND_BASE_IMAGE,
        LABEL_GUEST_HASH: digest,
        f"{naming.LABEL_NS}.variant": variant,
    }


def ensure_docker_images() -> list[str]:
    """Import missing or outdated base images into Docker; return what was built."""
    import docker
    import docker.errors

    digest = rootfs.guest_hash()
    try:
        client = docker.from_env(timeout=120)
    except docker.errors.DockerException as exc:
        raise InfrastructureError(f"cannot reach the Docker Engine: {exc}") from exc
    built: list[str] = []
    try:
        for variant in rootfs.VARIANTS:
            ref = rootfs.image_ref(variant)
            try:
                current = client.images.get(ref).labels or {}
            except docker.errors.ImageNotFound:
                current = {}
            if current.get(LABEL_GUEST_HASH) == digest:
                continue
            with tempfile.TemporaryDirectory(prefix="cci-rootfs-") as scratch:
                tree = Path(scratch) / "rootfs"
                rootfs.build_rootfs(tree, variant)
                changes = ['CMD ["/sbin/init"]', "ENV PATH=/bin:/sbin:/usr/bin:/usr/sbin"]
                changes += [
                    f'LABEL "{key}"="{value}"'
                    for key, value in base_labels(variant, digest).items()
                ]
                repository, tag = ref.split(":")
                client.api.import_image_from_data(
                    rootfs.rootfs_tar(tree), repository=repository, tag=tag, changes=changes
                )
            built.append(f"built {ref}")
        built += _remove_superseded(client, digest)
    except docker.errors.DockerException as exc:
        raise InfrastructureError(f"importing the guest image into Docker: {exc}") from exc
    finally:
        client.close()
    return built


def _remove_superseded(client: Any, digest: str) -> list[str]:
    """Base images of an older guest that lost their tag to a rebuild: each
    rebuild had left one per variant behind, untagged (measured: 4 after a
    day of guest changes). Those a container still uses stay until it goes."""
    import docker.errors

    removed = []
    kind = f"{naming.LABEL_KIND}={naming.KIND_BASE_IMAGE}"
    for entry in client.api.images(filters={"label": kind, "dangling": True}):
        if (entry.get("Labels") or {}).get(LABEL_GUEST_HASH) == digest:
            continue
        try:
            client.api.remove_image(entry["Id"])
        except docker.errors.APIError:
            continue  # in use by a container (a run's, a developer's): not ours to force
        removed.append(f"removed superseded guest image {entry['Id'][7:19]}")
    return removed


def ensure_lxc_images(store: LxcImageStore | None = None) -> list[str]:
    """Write missing or outdated base rootfs dirs into the LXC image store."""
    store = store or LxcImageStore(paths.lxc_images_dir())
    store.root.mkdir(parents=True, exist_ok=True)
    digest = rootfs.guest_hash()
    built: list[str] = []
    for variant in rootfs.VARIANTS:
        ref = rootfs.image_ref(variant)
        if store.exists(ref) and store.get(ref).labels.get(LABEL_GUEST_HASH) == digest:
            continue
        scratch = Path(tempfile.mkdtemp(prefix="cci-rootfs-", dir=store.root.parent))
        try:
            rootfs.build_rootfs(scratch / "rootfs", variant)
            store.add_from(ref, scratch / "rootfs", base_labels(variant, digest))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        built.append(f"built {ref}")
    return built
