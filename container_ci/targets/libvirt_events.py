"""libvirt's default event loop, run once per process in a daemon thread.

Domain lifecycle callbacks and connection keepalives only fire while someone
runs `virEventRunDefaultImpl()`; the implementation must be registered before
the first connection is opened."""

from __future__ import annotations

import threading

import libvirt

_lock = threading.Lock()
_started = False


def ensure_event_loop() -> None:
    global _started
    with _lock:
        if _started:
            return
        libvirt.virEventRegisterDefaultImpl()
        # Errors reach callers as exceptions; libvirt's default handler would
        # also print each one to stderr.
        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
        thread = threading.Thread(target=_run_forever, name="cci-libvirt-events", daemon=True)
        thread.start()
        _started = True


def _run_forever() -> None:
    while True:
        libvirt.virEventRunDefaultImpl()
