"""Draws the AgriFlux Studio icon (a leaf over field rows on a green tile) as RGBA PNGs.

Made here with the standard library only; run `python3 icons/make_icons.py` to redraw.
"""

import math
import struct
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent


def png(path, size, pixels):
    raw = b"".join(b"\x00" + bytes(pixels[y * size * 4:(y + 1) * size * 4]) for y in range(size))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0))
    data += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    path.write_bytes(data)


def coverage(size, inside, samples=4):
    """Anti-aliased coverage of a shape given as inside(x, y) in unit coordinates."""
    out = []
    for y in range(size):
        for x in range(size):
            hits = 0
            for sy in range(samples):
                for sx in range(samples):
                    u = (x + (sx + 0.5) / samples) / size
                    v = (y + (sy + 0.5) / samples) / size
                    hits += inside(u, v)
            out.append(hits / (samples * samples))
    return out


def tile(u, v):
    r = 0.2
    cx = min(max(u, r + 0.03), 0.97 - r)
    cy = min(max(v, r + 0.03), 0.97 - r)
    return (u - cx) ** 2 + (v - cy) ** 2 <= r * r


def leaf(u, v):
    # Intersection of two discs, tilted 45 degrees.
    x, y = u - 0.5, v - 0.47
    a = math.radians(45)
    xr, yr = x * math.cos(a) + y * math.sin(a), -x * math.sin(a) + y * math.cos(a)
    d = 0.2
    return (xr ** 2 + (yr - d) ** 2 <= 0.3 ** 2) and (xr ** 2 + (yr + d) ** 2 <= 0.3 ** 2)


def vein(u, v):
    x, y = u - 0.5, v - 0.47
    return abs(x - y) < 0.025 and abs(x + y) < 0.5


def rows(u, v):
    return v > 0.78 and v < 0.9 and (int(u * 10) % 2 == 0) and 0.18 < u < 0.82


def draw(size):
    t, l, ve, ro = (coverage(size, f) for f in (tile, leaf, vein, rows))
    pixels = []
    for i in range(size * size):
        y = i // size
        g = y / size
        base = (int(30 + 20 * g), int(120 - 30 * g), int(70 - 10 * g))
        color = list(base)
        for cov, col in ((ro[i], (196, 164, 92)), (l[i], (236, 248, 226)), (ve[i] * l[i], (46, 125, 70))):
            color = [round(c * (1 - cov) + k * cov) for c, k in zip(color, col)]
        pixels += color + [round(255 * t[i])]
    return pixels


for name, size in (("32x32.png", 32), ("128x128.png", 128), ("128x128@2x.png", 256), ("icon.png", 512)):
    png(HERE / name, size, draw(size))
    print("wrote", HERE / name)
