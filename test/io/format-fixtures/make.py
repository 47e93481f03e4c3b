#!/usr/bin/env python3
"""Writes the fixtures of test/io/image-formats.test.ts and image-orientation.test.ts.

Each NAME.<ext> is an image; NAME.ppm is what Pillow decodes it to (first frame, converted to RGB,
and for the EXIF cases after ImageOps.exif_transpose) — the pixels graft must give. Pillow writes
the files it can; the BMP layouts it cannot write (4-bit, 16-bit, bitfields, top-down) are built
here byte by byte and still decoded by Pillow for the reference. Run with any Python that has
Pillow with WebP support: python3 make.py
"""
import io
import os
import struct

from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
W, H = 13, 9  # odd and not square, so a flip or a transposition cannot go unnoticed


def picture(w=W, h=H, seed=0):
    """Every pixel different: red follows x, green follows y, blue a hash of both."""
    im = Image.new("RGB", (w, h))
    im.putdata([(x * 255 // (w - 1), y * 255 // (h - 1), (x * 37 + y * 91 + seed) % 256) for y in range(h) for x in range(w)])
    return im


def with_alpha(im):
    rgba = im.convert("RGBA")
    rgba.putalpha(Image.frombytes("L", im.size, bytes((i * 29) % 256 for i in range(im.size[0] * im.size[1]))))
    return rgba


def write(name, data, reference=None, reference_name=None):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    im = reference if reference is not None else Image.open(io.BytesIO(data))
    if reference is None:
        im.seek(0)
    rgb = im.convert("RGB")
    with open(os.path.join(HERE, reference_name or os.path.splitext(name)[0] + ".ppm"), "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % rgb.size + rgb.tobytes())


def saved(im, fmt, **options):
    out = io.BytesIO()
    im.save(out, fmt, **options)
    return out.getvalue()


def webp():
    pic = picture()
    write("webp-lossy.webp", saved(pic, "WEBP", quality=80))
    write("webp-lossless.webp", saved(pic, "WEBP", lossless=True))
    write("webp-alpha-lossy.webp", saved(with_alpha(pic), "WEBP", quality=80))
    write("webp-alpha-lossless.webp", saved(with_alpha(pic), "WEBP", lossless=True, exact=True))
    frames = [with_alpha(picture(seed=0)), picture(seed=100).convert("RGBA")]
    write("webp-animated.webp", saved(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True, exact=True, duration=100))
    # A first frame transparent around its middle: the encoder stores only the middle, at an offset.
    first = Image.new("RGBA", (W, H))
    first.paste(picture(6, 4).convert("RGBA"), (4, 2))
    data = saved(first, "WEBP", save_all=True, append_images=frames[1:], lossless=True, exact=True, duration=100)
    anmf = data.find(b"ANMF") + 8
    assert data[anmf:anmf + 6] == bytes((2, 0, 0, 1, 0, 0)), "expected the first frame stored at (4, 2)"
    write("webp-animated-offset.webp", data)


def gif():
    pal = picture().quantize(colors=32, dither=Image.Dither.NONE)
    write("gif-palette.gif", saved(pal, "GIF"))
    write("gif-transparent.gif", saved(pal, "GIF", transparency=3))
    big = picture(20, 17).quantize(colors=200, dither=Image.Dither.NONE)
    write("gif-interlaced.gif", saved(big, "GIF", interlace=True))
    frames = [pal, picture(seed=100).quantize(colors=16, dither=Image.Dither.NONE)]
    write("gif-animated.gif", saved(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0))
    write("gif-grey.gif", saved(picture().convert("L"), "GIF"))
    # A first frame smaller than the screen, at (3, 2): Pillow saves the frame alone, the screen
    # size and position are patched in. Outside the frame: index 0, or the transparent index.
    small = picture(6, 4).quantize(colors=8, dither=Image.Dither.NONE)
    for name, options in (("gif-partial.gif", {}), ("gif-partial-transparent.gif", {"transparency": 5})):
        data = bytearray(saved(small, "GIF", **options))
        data[6:10] = struct.pack("<HH", W, H)
        at = data.index(b"\x2c", 13 + 3 * 8)
        data[at + 1:at + 5] = struct.pack("<HH", 3, 2)
        write(name, bytes(data))


def bmp_file(bits, rows, palette=b"", masks=b"", top_down=False, compression=0, header=40, width=W):
    """A BMP with a BITMAPINFOHEADER (or a V4/V5 one holding the masks), rows given top row first."""
    stride = (len(rows[0]) + 3) // 4 * 4
    body = b"".join(r.ljust(stride, b"\0") for r in (rows if top_down else rows[::-1]))
    height = -len(rows) if top_down else len(rows)
    dib = struct.pack("<IiiHHIIiiII", header, width, height, 1, bits, compression, len(body), 2835, 2835, len(palette) // 4, 0)
    if header > 40:
        dib += masks.ljust(header - 40, b"\0")
        masks = b""
    offset = 14 + len(dib) + len(masks) + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(body), 0, 0, offset) + dib + masks + palette + body


def pack_bits(indices, bits):
    out, acc, n = bytearray(), 0, 0
    for i in indices:
        acc = (acc << bits) | i
        n += bits
        if n == 8:
            out.append(acc)
            acc, n = 0, 0
    if n:
        out.append(acc << (8 - n))
    return bytes(out)


def bmp():
    pic = picture()
    px = [[pic.getpixel((x, y)) for x in range(W)] for y in range(H)]
    write("bmp-24.bmp", saved(pic, "BMP"))
    write("bmp-8.bmp", saved(pic.quantize(colors=64, dither=Image.Dither.NONE), "BMP"))
    write("bmp-32.bmp", saved(with_alpha(pic), "BMP"))
    write("bmp-grey.bmp", saved(pic.convert("L"), "BMP"))
    colours16 = [(i * 16, 255 - i * 16, (i * 90) % 256) for i in range(16)]
    pal16 = b"".join(bytes((b, g, r, 0)) for r, g, b in colours16)
    write("bmp-4.bmp", bmp_file(4, [pack_bits([(x + 2 * y) % 16 for x in range(W)], 4) for y in range(H)], palette=pal16))
    pal2 = bytes((200, 30, 10, 0, 40, 220, 250, 0))
    write("bmp-1.bmp", bmp_file(1, [pack_bits([(x * y + x) % 3 == 0 for x in range(W)], 1) for y in range(H)], palette=pal2))
    rgb24 = [b"".join(bytes((b, g, r)) for r, g, b in row) for row in px]
    write("bmp-24-topdown.bmp", bmp_file(24, rgb24, top_down=True))
    p555 = [b"".join(struct.pack("<H", (r >> 3) << 10 | (g >> 3) << 5 | b >> 3) for r, g, b in row) for row in px]
    write("bmp-16-555.bmp", bmp_file(16, p555))
    p565 = [b"".join(struct.pack("<H", (r >> 3) << 11 | (g >> 2) << 5 | b >> 3) for r, g, b in row) for row in px]
    write("bmp-16-565.bmp", bmp_file(16, p565, masks=struct.pack("<III", 0xF800, 0x07E0, 0x001F), compression=3))
    xbgr = [b"".join(struct.pack("<I", r << 24 | g << 16 | b << 8) for r, g, b in row) for row in px]
    write("bmp-32-bitfields.bmp", bmp_file(32, xbgr, masks=struct.pack("<III", 0xFF000000, 0x00FF0000, 0x0000FF00), compression=3))
    bgra = [b"".join(struct.pack("<I", 0x80 << 24 | r << 16 | g << 8 | b) for r, g, b in row) for row in px]
    write("bmp-32-v5.bmp", bmp_file(32, bgra, masks=struct.pack("<IIII", 0xFF0000, 0xFF00, 0xFF, 0xFF000000), compression=3, header=124, top_down=True))


def exif(orientation):
    e = Image.Exif()
    e[0x0112] = orientation
    return e.tobytes()


def oriented():
    pic = picture()
    for o in range(1, 9):
        for ext, fmt, options in (("jpg", "JPEG", {"quality": 95}), ("png", "PNG", {}), ("webp", "WEBP", {"lossless": True})):
            data = saved(pic, fmt, exif=exif(o), **options)
            im = Image.open(io.BytesIO(data))
            assert im.getexif().get(0x0112) == o, (ext, o)
            # PNG and WebP are lossless: one reference serves both; the JPEG has its own.
            write(f"exif-{o}.{ext}", data, ImageOps.exif_transpose(im), f"exif-{o}-jpg.ppm" if ext == "jpg" else None)


if __name__ == "__main__":
    for old in os.listdir(HERE):
        if not old.endswith(".py"):
            os.remove(os.path.join(HERE, old))
    webp()
    gif()
    bmp()
    oriented()
