"""The docker target reads an exec's output as the Engine's multiplexed
stream itself (container_ci/targets/docker.py: docker-py's exec_start loses
output that arrives with the response headers)."""

from __future__ import annotations

import struct

from container_ci.targets.docker import demultiplex


def frame(kind: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", kind, len(payload)) + payload


def test_interleaved_frames_are_split_by_stream_in_order():
    raw = frame(1, b"out 1\n") + frame(2, b"err 1\n") + frame(1, b"out 2\n") + frame(2, b"")
    assert demultiplex(raw) == (b"out 1\nout 2\n", b"err 1\n")


def test_no_output_is_two_empty_streams():
    assert demultiplex(b"") == (b"", b"")


def test_a_payload_larger_than_any_read_is_kept_whole():
    big = bytes(range(256)) * 4096  # 1 MiB, frame headers' bytes among them
    assert demultiplex(frame(1, big) + frame(2, b"e")) == (big, b"e")


def test_a_torn_last_frame_keeps_what_arrived_of_it():
    assert demultiplex(frame(1, b"whole\n") + frame(2, b"torn payload")[:-4]) == (
        b"whole\n",
        b"torn pay",
    )
    assert demultiplex(frame(1, b"whole\n") + b"\x02\x00") == (b"whole\n", b"")  # a torn header
