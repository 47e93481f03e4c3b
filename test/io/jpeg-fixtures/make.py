#!/usr/bin/env python3
"""Writes the JPEG fixtures of test/io/jpeg-colour.test.ts and their libjpeg references.

Needs libjpeg-turbo's cjpeg and djpeg (Debian: apt-get install libjpeg-turbo-progs). Each NAME.jpg
is encoded by cjpeg from one synthetic picture; NAME.ppm is what djpeg -dct int (libjpeg's
defaults: accurate integer IDCT, fancy upsampling) decodes it to, the pixels Pillow and browsers
give. Run from anywhere: python3 make.py
"""
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


def picture(w, h):
    """Gradients under a checkerboard of saturated red: colour edges in every chroma cell."""
    px = bytearray()
    for y in range(h):
        for x in range(w):
            if (x // 5 + y // 3) % 2 == 0:
                px += bytes((250, 30, 40))
            else:
                px += bytes((x * 255 // w, y * 255 // h, (x + y) * 37 % 256))
    return b"P6\n%d %d\n255\n" % (w, h) + bytes(px)


def run(*args, stdin=None):
    return subprocess.run(args, input=stdin, stdout=subprocess.PIPE, check=True).stdout


def write(name, jpeg):
    with open(os.path.join(HERE, name + ".jpg"), "wb") as f:
        f.write(jpeg)
    with open(os.path.join(HERE, name + ".ppm"), "wb") as f:
        f.write(run("djpeg", "-dct", "int", "-ppm", stdin=jpeg))


def adobe_ycc(jpeg):
    """The same file with its JFIF APP0 replaced by an Adobe APP14 saying transform 1 (YCbCr)."""
    assert jpeg[2:4] == b"\xff\xe0"
    app0_len = int.from_bytes(jpeg[4:6], "big")
    app14 = b"\xff\xee\x00\x0eAdobe\x00\x64\x00\x00\x00\x00\x01"
    return jpeg[:2] + app14 + jpeg[4 + app0_len:]


def main():
    big, narrow = picture(23, 17), picture(3, 5)
    q = ["-quality", "85"]
    write("ycc-420", run("cjpeg", *q, "-sample", "2x2,1x1,1x1", stdin=big))
    write("ycc-420-progressive", run("cjpeg", *q, "-sample", "2x2,1x1,1x1", "-progressive", stdin=big))
    write("ycc-422", run("cjpeg", *q, "-sample", "2x1,1x1,1x1", stdin=big))
    write("ycc-440", run("cjpeg", *q, "-sample", "1x2,1x1,1x1", stdin=big))
    write("ycc-444", run("cjpeg", *q, "-sample", "1x1,1x1,1x1", stdin=big))
    write("ycc-420-narrow", run("cjpeg", *q, "-sample", "2x2,1x1,1x1", stdin=narrow))
    write("ycc-420-adobe", adobe_ycc(run("cjpeg", *q, "-sample", "2x2,1x1,1x1", stdin=big)))
    write("rgb-adobe", run("cjpeg", *q, "-rgb", stdin=big))
    write("grey", run("cjpeg", *q, "-grayscale", stdin=big))


if __name__ == "__main__":
    main()
