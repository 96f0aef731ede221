"""How the libvirt-lxc target reads libvirtd's errors."""

from __future__ import annotations

import libvirt
import pytest

from container_ci.targets.libvirt_lxc import _init_pid_unknown


def _error(message: str) -> libvirt.libvirtError:
    exc = libvirt.libvirtError(message)
    exc.err = (libvirt.VIR_ERR_OPERATION_INVALID, libvirt.VIR_FROM_LXC, message,
               2, "", "", "", 0, 0)  # fmt: skip
    return exc


@pytest.mark.parametrize(
    "message",
    [
        "Requested operation is not valid: Init process ID is not yet known",  # reboot
        "Requested operation is not valid: Init pid is not yet available",  # sendProcessSignal
    ],
)
def test_both_words_for_an_init_pid_libvirtd_does_not_know_yet(message):
    """bench/chaos: a reboot right after boot, under load, failed on the
    first wording, which only the second had been matched for."""
    assert _init_pid_unknown(_error(message))


def test_another_invalid_operation_is_not_taken_for_it():
    assert not _init_pid_unknown(_error("Requested operation is not valid: domain is not running"))
