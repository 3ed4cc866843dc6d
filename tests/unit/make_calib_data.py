#!/usr/bin/env python3
"""Writes the small calibration files tests/unit/test_calib_data.c reads.

Run from the repository root with a Python that has numpy and Pillow
(e.g. build/venv/bin/python tests/unit/make_calib_data.py); the output
is committed under tests/unit/data/calib/ and is the same on every run but
for the timestamps numpy puts in the .npz archives.  The .npy/.npz
files come from numpy's own writers, PNG and BMP files from small writers
below (so each header field is known) plus one of each from Pillow, and the
JPEG from Pillow.  Error cases (bad headers, truncation, NaN) are built by the
C test itself at run time.
"""
import os
import shutil
import struct
import zlib

import numpy as np
from PIL import Image

OUT = os.path.join("tests", "unit", "data", "calib")


def path(*p):
    return os.path.join(OUT, *p)


# ---- .npy / .npz ---------------------------------------------------------

def npy_values(dtype):
    """12 values, shape (3,1,2,2): value k is 3*k - 5 (or 20*k unsigned)."""
    k = np.arange(12)
    v = 20 * k if np.dtype(dtype).kind == "u" else 3 * k - 5
    return v.astype(dtype).reshape(3, 1, 2, 2)


def write_npy(name, arr, version):
    with open(path(name), "wb") as f:
        np.lib.format.write_array(f, arr, version=version)


def make_npy():
    for code in ["f4", "f8", "f2", "u1", "i1", "i2", "u2", "i4", "i8"]:
        write_npy("npy_%s_v1.npy" % code, npy_values(np.dtype("<" + code)), (1, 0))
    write_npy("npy_f4_v2.npy", npy_values("<f4"), (2, 0))
    write_npy("npy_f4_v3.npy", npy_values("<f4"), (3, 0))


def make_npz():
    a = (np.arange(16, dtype=np.float32) / 4).reshape(4, 1, 2, 2)
    b = np.arange(12, dtype=np.int64).reshape(4, 3) - 6
    np.savez(path("npz_stored.npz"), a=a, b=b)
    np.savez_compressed(path("npz_deflated.npz"), a=a, b=b)
    np.savez(path("npz_uneven.npz"), a=a, b=np.zeros((5, 3), np.float32))
    np.savez(path("npz_unnamed.npz"), a)  # stored as arr_0


# ---- images --------------------------------------------------------------

def png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def write_png(name, w, h, color_type, rows, palette=None, depth=8):
    """rows: list of bytes, one per row, already in the colour type's layout."""
    raw = b"".join(b"\x00" + r for r in rows)
    out = b"\x89PNG\r\n\x1a\n"
    out += png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 0))
    if palette:
        out += png_chunk(b"PLTE", b"".join(bytes(c) for c in palette))
    out += png_chunk(b"IDAT", zlib.compress(raw, 9))
    out += png_chunk(b"IEND", b"")
    with open(name, "wb") as f:
        f.write(out)


def bmp_file(w, h, bpp, pixel_rows, top_down=False, hsz=40, comp=0,
             masks=None, palette=None):
    """pixel_rows: top row first, each already packed for bpp (unpadded)."""
    stride = (bpp * w + 31) // 32 * 4
    rows = [r + b"\x00" * (stride - len(r)) for r in pixel_rows]
    if not top_down:
        rows = rows[::-1]
    pix = b"".join(rows)
    ncol = len(palette) if palette else 0
    info = struct.pack("<IiiHHIIiiII", hsz, w, -h if top_down else h, 1, bpp,
                       comp, len(pix), 2835, 2835, ncol, 0)
    extra = b""
    if masks:
        extra = struct.pack("<III", *masks)
    if hsz > 40:
        body = extra + b"\x00" * (hsz - 40 - len(extra))
        if hsz >= 108:  # V4/V5: alpha mask 0, colour space 'sRGB'
            body = extra + struct.pack("<I", 0) + b"BGRs"
            body += b"\x00" * (hsz - 40 - len(body))
        info += body
    else:
        info += extra
    pal = b"".join(bytes((c[2], c[1], c[0], 0)) for c in palette) if palette else b""
    off = 14 + len(info) + len(pal)
    head = b"BM" + struct.pack("<IHHI", off + len(pix), 0, 0, off)
    return head + info + pal + pix


# 3x2 colour image, odd width so 24-bit rows are padded.
RGB3x2 = [[(255, 0, 0), (0, 255, 0), (0, 0, 255)],
          [(10, 20, 30), (200, 150, 100), (255, 255, 255)]]


def make_bmp():
    d = path("bmp")
    os.makedirs(d)
    def save(name, data):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    rows24 = [b"".join(bytes((b, g, r)) for r, g, b in row) for row in RGB3x2]
    rows32 = [b"".join(bytes((b, g, r, 0x80)) for r, g, b in row) for row in RGB3x2]
    rows_rgba = [b"".join(bytes((r, g, b, 0xFF)) for r, g, b in row) for row in RGB3x2]
    save("a_rgb24.bmp", bmp_file(3, 2, 24, rows24))
    save("b_rgb32_topdown.bmp", bmp_file(3, 2, 32, rows32, top_down=True))
    # BI_BITFIELDS with RGBA byte order in a V5 header: the masks decide.
    save("c_rgb32_bitfields.bmp",
         bmp_file(3, 2, 32, rows_rgba, hsz=124, comp=3,
                  masks=(0x000000FF, 0x0000FF00, 0x00FF0000)))
    pal = sorted({c for row in RGB3x2 for c in row})
    rows8 = [bytes(pal.index(c) for c in row) for row in RGB3x2]
    save("d_pal8.bmp", bmp_file(3, 2, 8, rows8, palette=pal))
    Image.frombytes("RGB", (3, 2), b"".join(bytes(c) for row in RGB3x2 for c in row)
                    ).save(os.path.join(d, "e_pil24.bmp"))
    # 8-bit grayscale (gray palette) from Pillow: 0, 128, 255 / 1, 2, 3
    Image.frombytes("L", (3, 2), bytes([0, 128, 255, 1, 2, 3])).save(
        os.path.join(d, "f_gray8_pil.bmp"))


def make_png():
    d = path("png")
    os.makedirs(d)
    rgb = [b"".join(bytes(c) for c in row) for row in RGB3x2]
    write_png(os.path.join(d, "a_rgb.png"), 3, 2, 2, rgb)
    # Alpha is dropped, not composited: colours survive alpha 0.
    rgba = [b"".join(bytes(c) + bytes([a]) for c, a in zip(row, (0, 128, 255)))
            for row in RGB3x2]
    write_png(os.path.join(d, "b_rgba.png"), 3, 2, 6, rgba)
    pal = sorted({c for row in RGB3x2 for c in row})
    write_png(os.path.join(d, "c_pal.png"), 3, 2, 3,
              [bytes(pal.index(c) for c in row) for row in RGB3x2], palette=pal)
    write_png(os.path.join(d, "d_gray.png"), 3, 2, 0,
              [bytes([0, 128, 255]), bytes([1, 2, 3])])
    Image.frombytes("RGB", (3, 2), b"".join(bytes(c) for row in RGB3x2 for c in row)
                    ).save(os.path.join(d, "e_pil.png"))
    # 16-bit gray 0x8080 0x2000 0xffff: scaled to 8 bits, 128 32 255
    d16 = path("png16")
    os.makedirs(d16)
    write_png(os.path.join(d16, "g16.png"), 3, 1, 0,
              [struct.pack(">HHH", 0x8080, 0x2000, 0xFFFF)], depth=16)


def make_mixed():
    """One PNG, one JPEG, one BMP and files that must be skipped."""
    d = path("mixed")
    os.makedirs(d)
    write_png(os.path.join(d, "a.png"), 2, 2, 2,
              [bytes((255, 0, 0, 0, 255, 0)), bytes((0, 0, 255, 255, 255, 255))])
    Image.new("RGB", (16, 16), (40, 120, 200)).save(
        os.path.join(d, "b.JPG"), quality=95)
    rows = [bytes((30, 20, 10, 60, 50, 40)), bytes((90, 80, 70, 120, 110, 100))]
    with open(os.path.join(d, "c.bmp"), "wb") as f:
        f.write(bmp_file(2, 2, 24, rows))
    with open(os.path.join(d, "notes.txt"), "w") as f:
        f.write("not an image\n")
    with open(os.path.join(d, ".hidden.png"), "wb") as f:
        f.write(b"not a png either")
    os.makedirs(os.path.join(d, "sub.png"))  # a folder with an image name
    with open(os.path.join(d, "sub.png", "keep"), "w") as f:
        f.write("")
    # 2x1 gray ramp for the resize check: 0, 255 -> width 4
    write_png(path("ramp.png"), 2, 1, 0, [bytes([0, 255])])


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    make_npy()
    make_npz()
    make_bmp()
    make_png()
    make_mixed()
    d = path("ramp")
    os.makedirs(d)
    shutil.move(path("ramp.png"), os.path.join(d, "ramp.png"))


if __name__ == "__main__":
    main()
