"""Does a backend answer right now? Quick checks used by setup and the runner."""

from __future__ import annotations

import contextlib


def docker_answers() -> bool:
    import docker

    try:
        client = docker.from_env(timeout=3)
    except Exception:  # noqa: BLE001 - any failure means "not answering"
        return False
    try:
        return bool(client.ping())
    except Exception:  # noqa: BLE001
        return False
    finally:
        with contextlib.suppress(Exception):
            client.close()


def libvirt_answers(uri: str = "lxc:///") -> bool:
    import libvirt

    libvirt.registerErrorHandler(lambda *_args: None, None)  # keep stderr quiet
    try:
        conn = libvirt.open(uri)
    except libvirt.libvirtError:
        return False
    with contextlib.suppress(libvirt.libvirtError):
        conn.close()
    return True
