"""The event-stream encoder against botocore's own decoder, frames split or not."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer

from myia.sim import eventstream
from myia.sim.eventstream import FrameSplitter


def decode(chunks: list[bytes]) -> list[tuple[Any, Any]]:
    buffer = EventStreamBuffer()
    messages: list[tuple[Any, Any]] = []
    for chunk in chunks:
        buffer.add_data(chunk)
        messages.extend((m.headers, json.loads(m.payload)) for m in buffer)
    return messages


def test_event_round_trips_through_botocore() -> None:
    frame = eventstream.event(
        "contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "héllo"}}
    )
    [(headers, payload)] = decode([frame])
    assert headers == {
        ":event-type": "contentBlockDelta",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    assert payload == {"contentBlockIndex": 0, "delta": {"text": "héllo"}}


def test_exception_frame_headers() -> None:
    [(headers, payload)] = decode(
        [eventstream.exception("throttlingException", {"message": "slow down"})]
    )
    assert headers[":message-type"] == "exception"
    assert headers[":exception-type"] == "throttlingException"
    assert payload == {"message": "slow down"}


def test_split_frames_reassemble_and_cross_boundaries() -> None:
    frames = [eventstream.event("contentBlockDelta", {"n": i, "text": "x" * i}) for i in range(10)]
    splitter = FrameSplitter()
    chunks = [c for f in frames for c in splitter.feed(f)] + splitter.flush()
    assert b"".join(chunks) == b"".join(frames)
    boundaries, position = set(), 0
    for frame in frames:
        position += len(frame)
        boundaries.add(position)
    ends, position = set(), 0
    for chunk in chunks:
        position += len(chunk)
        ends.add(position)
    assert ends - boundaries, "some chunks must end inside a frame"
    assert boundaries - ends, "some frames must end inside a chunk"
    assert [p["n"] for _h, p in decode(chunks)] == list(range(10))


def test_splitting_can_be_turned_off() -> None:
    frame = eventstream.event("messageStop", {"stopReason": "end_turn"})
    splitter = FrameSplitter(enabled=False)
    assert splitter.feed(frame) == [frame] and splitter.flush() == []


def test_crc_protects_the_frame() -> None:
    frame = bytearray(eventstream.event("messageStart", {"role": "assistant"}))
    frame[-6] ^= 0xFF  # flip a payload byte
    with pytest.raises(ChecksumMismatch):
        decode([bytes(frame)])
