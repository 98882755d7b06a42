"""Just enough PNG to tell the colour of a picture, without Pillow.

Handles 8-bit greyscale, RGB, palette, grey+alpha and RGBA, non-interlaced, with all five
scanline filters. Anything else raises `ImageError` and the brain says it cannot see.
"""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from dataclasses import dataclass

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
MAX_PIXELS = 16_000_000
SAMPLES = 4096

# Reference points chosen so that both pure (0,255,0) and web (0,128,0) green land on green.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (255, 0, 0),
    "green": (0, 160, 0),
    "blue": (0, 0, 255),
    "yellow": (255, 255, 0),
    "black": (0, 0, 0),
    "white": (255, 255, 255),
    "orange": (255, 140, 0),
    "purple": (128, 0, 128),
}


class ImageError(ValueError):
    pass


@dataclass(frozen=True)
class Picture:
    width: int
    height: int
    pixels: list[tuple[int, int, int, int]]  # sampled RGBA, not necessarily every pixel


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(kind: int, row: bytearray, prev: bytes, bpp: int) -> None:
    if kind == 0:
        return
    if kind == 2:
        row[:] = bytes((x + p) & 0xFF for x, p in zip(row, prev, strict=True))
        return
    for i in range(len(row)):
        left = row[i - bpp] if i >= bpp else 0
        if kind == 1:
            row[i] = (row[i] + left) & 0xFF
        elif kind == 3:
            row[i] = (row[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind == 4:
            up_left = prev[i - bpp] if i >= bpp else 0
            row[i] = (row[i] + _paeth(left, prev[i], up_left)) & 0xFF
        else:
            raise ImageError(f"unknown PNG filter type {kind}")


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if not data.startswith(PNG_SIGNATURE):
        raise ImageError("not a PNG image")
    chunks: list[tuple[bytes, bytes]] = []
    offset = len(PNG_SIGNATURE)
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        chunks.append((kind, data[offset + 8 : offset + 8 + length]))
        offset += 12 + length
        if kind == b"IEND":
            break
    return chunks


def _rgba(
    raw: bytes | bytearray, colour_type: int, palette: bytes, alpha: bytes
) -> tuple[int, ...]:
    if colour_type == 0:
        return (raw[0], raw[0], raw[0], 255)
    if colour_type == 4:
        return (raw[0], raw[0], raw[0], raw[1])
    if colour_type == 2:
        return (raw[0], raw[1], raw[2], 255)
    if colour_type == 6:
        return (raw[0], raw[1], raw[2], raw[3])
    index = raw[0]
    r, g, b = palette[index * 3 : index * 3 + 3] or b"\x00\x00\x00"
    return (r, g, b, alpha[index] if index < len(alpha) else 255)


def decode_png(data: bytes) -> Picture:
    """Decode a PNG and keep an evenly spread sample of its pixels."""
    chunks = _chunks(data)
    header = next((body for kind, body in chunks if kind == b"IHDR"), None)
    if header is None or len(header) != 13:
        raise ImageError("PNG without IHDR")
    width, height, depth, colour_type, _comp, _filt, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or colour_type not in CHANNELS or interlace != 0:
        raise ImageError("only 8-bit, non-interlaced PNGs are supported")
    if width * height > MAX_PIXELS or width == 0 or height == 0:
        raise ImageError("image size out of range")
    palette = next((body for kind, body in chunks if kind == b"PLTE"), b"")
    alpha = next((body for kind, body in chunks if kind == b"tRNS"), b"")
    try:
        raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    except zlib.error as exc:
        raise ImageError(f"corrupt PNG data: {exc}") from exc
    bpp = CHANNELS[colour_type]
    stride = width * bpp
    if len(raw) < height * (stride + 1):
        raise ImageError("truncated PNG data")
    step = max(1, (width * height) // SAMPLES)
    pixels: list[tuple[int, int, int, int]] = []
    prev = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        row = bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter(raw[start], row, prev, bpp)
        for x in range((-y * width) % step, width, step):
            value = _rgba(row[x * bpp : (x + 1) * bpp], colour_type, palette, alpha)
            pixels.append((value[0], value[1], value[2], value[3]))
        prev = bytes(row)
    return Picture(width, height, pixels)


def nearest_colour(rgb: tuple[int, int, int]) -> str:
    def distance(name: str) -> int:
        ref = COLOURS[name]
        return sum((a - b) ** 2 for a, b in zip(rgb, ref, strict=True))

    return min(COLOURS, key=distance)


def dominant_colour(data: bytes) -> str:
    """The named colour most sampled pixels are nearest to (transparent pixels ignored)."""
    picture = decode_png(data)
    votes = Counter(nearest_colour((r, g, b)) for r, g, b, a in picture.pixels if a >= 128)
    if not votes:
        raise ImageError("image is fully transparent")
    return votes.most_common(1)[0][0]
