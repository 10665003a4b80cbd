#!/usr/bin/env python3
"""Regenerates the PNG fixtures in this folder (python3 + numpy, no PIL).

The encoder here is written from the PNG spec (chunks, the five row filters,
bit packing, Adam7), independently of libpng, so the Swift tests compare
libpng's decoding against these formulas. Every pixel value is a formula of
(x, y) that Tests/ImageIOTests/FixtureTests.swift repeats; see README.md.

Run:  python3 Tests/Fixtures/png/make_fixtures.py
"""
import os
import struct
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_row(samples, depth):
    """samples: 1-D array of the row's interleaved samples."""
    if depth == 16:
        return samples.astype(">u2").tobytes()
    if depth == 8:
        return samples.astype(np.uint8).tobytes()
    per_byte = 8 // depth
    out = bytearray()
    for i in range(0, len(samples), per_byte):
        b = 0
        group = list(samples[i:i + per_byte]) + [0] * (per_byte - len(samples[i:i + per_byte]))
        for v in group:
            assert 0 <= v < (1 << depth)
            b = (b << depth) | int(v)
        out.append(b)
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_row(row, prev, bpp, ftype):
    out = bytearray([ftype])
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][ftype]
        out.append((x - pred) & 0xFF)
    return bytes(out)


def serialize(pixels, depth, color_type, filter_offset=0):
    """pixels: (h, w, channels) array -> filtered scanlines (one pass)."""
    h, w, ch = pixels.shape
    bpp = max(1, ch * depth // 8)
    data = b""
    prev = bytes(len(pack_row(pixels[0].reshape(-1), depth)))
    for y in range(h):
        row = pack_row(pixels[y].reshape(-1), depth)
        data += filter_row(row, prev, bpp, (y + filter_offset) % 5)  # cycle through all 5 filters
        prev = row
    return data


def png_bytes(pixels, depth, color_type, interlace=False, palette=None, trns=None, extra_before_idat=(),
              idat_splits=1):
    h, w, ch = pixels.shape
    assert ch == CHANNELS[color_type]
    if interlace:
        raw = b""
        for n, (xs, ys, dx, dy) in enumerate(ADAM7):
            sub = pixels[ys::dy, xs::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += serialize(sub, depth, color_type, filter_offset=n)
    else:
        raw = serialize(pixels, depth, color_type)
    z = zlib.compress(raw, 9)
    out = b"\x89PNG\r\n\x1a\n"
    out += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 1 if interlace else 0))
    for kind, data in extra_before_idat:
        out += chunk(kind, data)
    if palette is not None:
        out += chunk(b"PLTE", bytes(np.array(palette, dtype=np.uint8).reshape(-1)))
    if trns is not None:
        out += chunk(b"tRNS", trns)
    step = -(-len(z) // idat_splits)
    for i in range(0, len(z), step):
        out += chunk(b"IDAT", z[i:i + step])
    out += chunk(b"IEND", b"")
    return out


def grid(w, h, f, channels):
    a = np.zeros((h, w, channels), dtype=np.int64)
    for y in range(h):
        for x in range(w):
            a[y, x] = f(x, y)
    return a


FIXTURES = {}

# Low-bit gray (expanded to 8-bit by replicating bits: 1 -> 255, 2-bit v -> 85v, 4-bit v -> 17v).
FIXTURES["gray1.png"] = png_bytes(grid(13, 7, lambda x, y: [(3 * x + y) % 2], 1), 1, 0)
FIXTURES["gray2.png"] = png_bytes(grid(13, 7, lambda x, y: [(x + 2 * y) % 4], 1), 2, 0)
FIXTURES["gray4.png"] = png_bytes(grid(13, 7, lambda x, y: [(x + 3 * y) % 16], 1), 4, 0)

# Palettes.
PAL6 = [(i * 40, 255 - i * 30, i * 7 + 3) for i in range(6)]
FIXTURES["palette8.png"] = png_bytes(grid(9, 5, lambda x, y: [(x + y) % 6], 1), 8, 3, palette=PAL6)
PAL10 = [(i * 25, i * 11, 250 - i * 20) for i in range(10)]
FIXTURES["palette4_trns.png"] = png_bytes(grid(11, 6, lambda x, y: [(2 * x + y) % 10], 1), 4, 3, palette=PAL10,
                                          trns=bytes([0, 64, 128, 192]))
FIXTURES["palette1_interlaced.png"] = png_bytes(grid(10, 10, lambda x, y: [(x // 2 + y) % 2], 1), 1, 3,
                                                interlace=True, palette=[(255, 0, 0), (0, 0, 255)])

# tRNS on gray / RGB.
FIXTURES["gray8_trns.png"] = png_bytes(grid(8, 4, lambda x, y: [(32 * x + 8 * y) % 256], 1), 8, 0,
                                       trns=struct.pack(">H", 64))
FIXTURES["rgb8_trns.png"] = png_bytes(
    grid(6, 5, lambda x, y: [10, 20, 30] if (x + y) % 3 == 0 else [x * 40, y * 50, 200], 3), 8, 2,
    trns=struct.pack(">HHH", 10, 20, 30))
FIXTURES["gray16_trns.png"] = png_bytes(grid(5, 4, lambda x, y: [(x * 13107 + y * 257) & 0xFFFF], 1), 16, 0,
                                        trns=struct.pack(">H", 13107 + 257))

# 16-bit with distinct high/low bytes (catches byte-order mistakes a round trip would hide).
FIXTURES["rgb16.png"] = png_bytes(
    grid(7, 3, lambda x, y: [(x * 9000 + 0x12) & 0xFFFF, (y * 20000 + 0x3400) & 0xFFFF, 0xFEDC - x * y * 100], 3),
    16, 2)

# Interlaced.
FIXTURES["gray2_interlaced.png"] = png_bytes(grid(10, 10, lambda x, y: [(x * y + x) % 4], 1), 2, 0, interlace=True)
FIXTURES["rgba8_interlaced.png"] = png_bytes(
    grid(11, 9, lambda x, y: [x * 23 % 256, y * 29 % 256, x * y * 7 % 256, 255 - x * y], 4), 8, 6, interlace=True)
FIXTURES["rgba16_interlaced.png"] = png_bytes(
    grid(9, 9, lambda x, y: [x * 7000, y * 7000, x * y * 997 & 0xFFFF, 65535 - x * y * 600], 4), 16, 6,
    interlace=True)

# Gray+alpha with ancillary chunks (gAMA, tEXt, a private chunk) and the image data split over 3 IDATs.
FIXTURES["ga8_multi_idat.png"] = png_bytes(
    grid(10, 8, lambda x, y: [(x * 25 + y) % 256, y * 36 % 256], 2), 8, 4,
    extra_before_idat=[(b"gAMA", struct.pack(">I", 45455)), (b"tEXt", b"Comment\x00Fillgraph fixture"),
                       (b"prVt", b"private ancillary data")],
    idat_splits=3)

if __name__ == "__main__":
    for name, data in FIXTURES.items():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")
