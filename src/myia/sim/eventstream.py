"""AWS event-stream encoding (the framing ConverseStream uses); botocore only ships a decoder.

Message: total length, headers length, CRC32 of those 8 bytes, headers, payload, CRC32 of
everything before it — all big-endian. Headers here are all strings (type 7).
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

_STRING = 7


def _crc(data: bytes) -> bytes:
    return struct.pack(">I", zlib.crc32(data) & 0xFFFFFFFF)


def encode_headers(headers: dict[str, str]) -> bytes:
    out = bytearray()
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        out += struct.pack(">B", len(raw_name)) + raw_name
        out += struct.pack(">BH", _STRING, len(raw_value)) + raw_value
    return bytes(out)


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    raw_headers = encode_headers(headers)
    total = 12 + len(raw_headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(raw_headers))
    message = prelude + _crc(prelude) + raw_headers + payload
    return message + _crc(message)


def event(event_type: str, body: dict[str, Any]) -> bytes:
    headers = {
        ":event-type": event_type,
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return encode_message(headers, json.dumps(body).encode())


def exception(exception_type: str, body: dict[str, Any]) -> bytes:
    headers = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return encode_message(headers, json.dumps(body).encode())


class FrameSplitter:
    """Re-chunks frames so that HTTP chunk boundaries fall inside and across frames.

    Real endpoints do not align chunks with frames; a client that assumes they do breaks in
    production only. Deterministic: every third frame is cut in two, every third frame
    after that keeps its tail back to ride with the next one.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._count = 0
        self._held = b""

    def feed(self, frame: bytes) -> list[bytes]:
        if not self.enabled:
            return [frame]
        self._count += 1
        data, self._held = self._held + frame, b""
        phase = self._count % 3
        if phase == 1 and len(data) > 2:
            cut = 1 + (self._count * 7919) % (len(data) - 1)
            return [data[:cut], data[cut:]]
        if phase == 2 and len(frame) > 8:
            self._held = data[-5:]
            return [data[:-5]]
        return [data]

    def flush(self) -> list[bytes]:
        held, self._held = self._held, b""
        return [held] if held else []
