"""The PNG decoder: every scanline filter, each colour type, and colour naming."""

from __future__ import annotations

import struct
import zlib

import pytest

from myia.sim.images import ImageError, decode_png, dominant_colour, nearest_colour
from tests.sim.conftest import solid_png


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _filter(kind: int, row: bytes, prev: bytes, bpp: int) -> bytes:
    out = bytearray()
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
        predictor = [0, a, b, (a + b) // 2, _paeth(a, b, c)][kind]
        out.append((x - predictor) & 0xFF)
    return bytes(out)


def encode_png(rows: list[bytes], width: int, colour_type: int, extra: bytes = b"") -> bytes:
    """PNG with filter type y % 5 on row y, so every filter is exercised."""
    bpp = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour_type]
    prev, data = bytes(width * bpp), bytearray()
    for y, row in enumerate(rows):
        data += bytes([y % 5]) + _filter(y % 5, row, prev, bpp)
        prev = row

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, len(rows), 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + extra
        + chunk(b"IDAT", zlib.compress(bytes(data)))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("colour_type", [2, 6])
def test_every_filter_decodes_exactly(colour_type: int) -> None:
    width, height = 7, 10
    pixels = [
        [(x * 37 % 256, y * 53 % 256, (x * y * 11) % 256, 200 + x) for x in range(width)]
        for y in range(height)
    ]
    channels = 3 if colour_type == 2 else 4
    rows = [b"".join(bytes(p[:channels]) for p in row) for row in pixels]
    picture = decode_png(encode_png(rows, width, colour_type))
    expected = [p if colour_type == 6 else (*p[:3], 255) for row in pixels for p in row]
    assert (picture.width, picture.height) == (width, height)
    assert picture.pixels == expected


def test_palette_and_greyscale() -> None:
    palette = bytes([255, 140, 0, 0, 0, 255])
    plte = (
        struct.pack(">I", 6) + b"PLTE" + palette + struct.pack(">I", zlib.crc32(b"PLTE" + palette))
    )
    png = encode_png([bytes([0, 0, 1])] * 3, 3, 3, extra=plte)
    assert dominant_colour(png) == "orange"
    assert dominant_colour(encode_png([bytes([250] * 4)] * 4, 4, 0)) == "white"


@pytest.mark.parametrize(
    ("rgb", "name"),
    [
        ((255, 0, 0), "red"),
        ((0, 255, 0), "green"),
        ((0, 128, 0), "green"),
        ((0, 0, 255), "blue"),
        ((255, 255, 0), "yellow"),
        ((0, 0, 0), "black"),
        ((255, 255, 255), "white"),
        ((255, 165, 0), "orange"),
        ((128, 0, 128), "purple"),
    ],
)
def test_solid_colours(rgb: tuple[int, int, int], name: str) -> None:
    assert nearest_colour(rgb) == name
    assert dominant_colour(solid_png(rgb, size=8)) == name


def test_transparent_pixels_do_not_vote() -> None:
    rows = [bytes([0, 0, 255, 255, 255, 0, 0, 0, 255, 0, 0, 0])] * 2  # 1 blue, 2 clear red
    assert dominant_colour(encode_png(rows, 3, 6)) == "blue"


def test_large_images_are_sampled() -> None:
    picture = decode_png(solid_png((0, 0, 255), size=200))
    assert 0 < len(picture.pixels) < 200 * 200


@pytest.mark.parametrize("data", [b"GIF89a....", b"\x89PNG\r\n\x1a\n", solid_png((1, 2, 3))[:-30]])
def test_broken_images_raise(data: bytes) -> None:
    with pytest.raises(ImageError):
        dominant_colour(data)
