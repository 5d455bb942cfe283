#!/usr/bin/python3
"""Test data and independent checks for the bats suites, in plain Python (msgpack, numpy, zlib).

    mkstream.py write OUT [--records N] [--shape H,W|C,H,W] [--dtype D] [--kind K] [--format NAME]
                          [--nonfinite] [--seed S]       a synthetic stream ('-' for stdout)
    mkstream.py png OUT [--bits 8|16] [--size H,W] [--mode gray|ga|rgb|rgba|palette] [--seed S]
    mkstream.py digest STREAM [--tensor NAME] [--full]   one line per record (see below)
    mkstream.py pngdigest PNG...                          the same lines for PNG files
    mkstream.py bmp STREAM ID OUT                         a u8 [H, W] image as an 8-bit BMP
    mkstream.py raw STREAM ID OUT                         a tensor's little-endian bytes

A digest line is "ID DTYPE HxW SHA1" of one 2-D tensor, so that a stream and a set of PNG files
compare with diff. For PNGs ID is the file name without .png and the pixels are the gray levels
cxr-ingest(1) promises: gray as stored, colour as ITU-R 601 luma (0.299, 0.587, 0.114) times
alpha, rounded half up. --full prints instead, per record, its id, its metadata as sorted JSON
and every tensor's name, dtype, shape and SHA1: equal lines mean equal records.

The PNG codec here is written from the PNG specification (RFC 2083) and shares no code with
libpng, so agreement with the tools is a check of both.
"""
import argparse
import hashlib
import json
import os
import struct
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ref"))
import cxstream  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# colour type -> samples per pixel
PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
MODES = {"gray": 0, "rgb": 2, "palette": 3, "ga": 4, "rgba": 6}


# ---- streams ----

def write_stream(args):
    rng = np.random.default_rng(args.seed)
    shape = [int(s) for s in args.shape.split(",")]
    hdr = cxstream.header(args.kind, tool="mkstream.py")
    hdr["format"] = args.format
    out = sys.stdout.buffer if args.out == "-" else open(args.out, "wb")
    w = cxstream.Writer(out, hdr)
    for i in range(args.records):
        if args.dtype in ("u8", "u16"):
            top = 256 if args.dtype == "u8" else 65536
            image = rng.integers(0, top, size=shape).astype(cxstream.DTYPES[args.dtype])
        else:
            image = rng.standard_normal(shape).astype(cxstream.DTYPES[args.dtype])
        if args.nonfinite:
            flat = image.reshape(-1)
            flat[0], flat[1], flat[2] = np.nan, np.inf, -np.inf
        mask = (rng.random(shape[-2:]) < 0.3).astype(np.uint8)
        meta = {"fold": i % 3, "site": "site-" + "AB"[i % 2], "n": i}
        if i == 0:
            meta["comment"] = 'a comma, and a "quote"'
        w.put("r%05d" % i, meta, {"image": image, "mask": mask})
    w.close()
    if out is sys.stdout.buffer:
        out.flush()
    else:
        out.close()


def read_records(path):
    with open(path, "rb") as f:
        records = cxstream.read(f)
        next(records)
        yield from records


def sha1(a):
    return hashlib.sha1(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()).hexdigest()


def digest_line(rid, a):
    name = cxstream.NAMES[a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype]
    return "%s %s %s %s" % (rid, name, "x".join(str(n) for n in a.shape), sha1(a))


def digest(args):
    for rec, tensors in read_records(args.stream):
        if args.full:
            parts = [rec["id"], json.dumps(rec.get("meta", {}), sort_keys=True)]
            parts += ["%s:%s:%s:%s" % (k, cxstream.NAMES[v.dtype], list(v.shape), sha1(v))
                      for k, v in sorted(tensors.items())]
            print(" ".join(parts))
        elif args.tensor in tensors:
            print(digest_line(rec["id"], tensors[args.tensor]))
        else:
            print("%s (no tensor %s)" % (rec["id"], args.tensor))


def find_tensor(path, rid, name="image"):
    for rec, tensors in read_records(path):
        if rec["id"] == rid:
            return tensors[name]
    sys.exit("%s: no record %s" % (path, rid))


# ---- PNG ----

def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(samples, bits, color_type, palette=None):
    """samples: [H, W, channels] of integers (palette indices for colour type 3)."""
    h, w = samples.shape[:2]
    rows = samples.astype(">u2" if bits == 16 else "u1").reshape(h, -1)
    raw = b"".join(b"\0" + row.tobytes() for row in rows)   # filter type 0 on every row
    ihdr = struct.pack(">IIBBBBB", w, h, bits, color_type, 0, 0, 0)
    body = png_chunk(b"IHDR", ihdr)
    if palette is not None:
        body += png_chunk(b"PLTE", palette.astype("u1").tobytes())
    return PNG_SIGNATURE + body + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def unfilter(data, h, stride, bpp):
    out = bytearray(h * stride)
    prev = bytearray(stride)
    pos = 0
    for y in range(h):
        ftype, line = data[pos], bytearray(data[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][ftype]
            line[x] = (line[x] + pred) & 0xFF
        out[y * stride:(y + 1) * stride] = line
        prev = line
    return bytes(out)


def decode_png(path):
    """Non-interlaced 8/16-bit PNG -> ([H, W, channels] array, bits, colour type), palette expanded."""
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:8] != PNG_SIGNATURE:
        raise ValueError("%s: not a PNG" % path)
    pos, idat, palette = 8, b"", None
    while pos < len(blob):
        n, kind = struct.unpack(">I4s", blob[pos:pos + 8])
        data = blob[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, bits, color_type, _, _, interlace = struct.unpack(">IIBBBBB", data)
            if interlace or bits not in (8, 16):
                raise ValueError("%s: only non-interlaced 8/16-bit PNGs are decoded here" % path)
        elif kind == b"PLTE":
            palette = np.frombuffer(data, dtype="u1").reshape(-1, 3)
        elif kind == b"IDAT":
            idat += data
        pos += 12 + n
    channels = PNG_CHANNELS[color_type]
    bpp = channels * bits // 8
    pixels = unfilter(zlib.decompress(idat), h, w * bpp, bpp)
    a = np.frombuffer(pixels, dtype=">u2" if bits == 16 else "u1").reshape(h, w, channels).astype(np.int64)
    if color_type == 3:
        a, color_type = palette[a[:, :, 0]].astype(np.int64), 2
    return a, bits, color_type


def gray_levels(path):
    """The gray image cxr-ingest should make of a PNG (see the module comment)."""
    a, bits, _ = decode_png(path)
    maxval = (1 << bits) - 1
    channels = a.shape[2]
    luma_x1000 = 299 * a[:, :, 0] + 587 * a[:, :, 1] + 114 * a[:, :, 2] if channels >= 3 else 1000 * a[:, :, 0]
    alpha = a[:, :, channels - 1] if channels % 2 == 0 else maxval
    gray = (luma_x1000 * alpha + 500 * maxval) // (1000 * maxval)
    return gray.astype(np.uint16 if bits == 16 else np.uint8)


def write_png(args):
    rng = np.random.default_rng(args.seed)
    h, w = (int(s) for s in args.size.split(","))
    color_type = MODES[args.mode]
    palette = None
    if args.mode == "palette":
        palette = rng.integers(0, 256, size=(16, 3))
        samples = rng.integers(0, 16, size=(h, w, 1))
    else:
        samples = rng.integers(0, 1 << args.bits, size=(h, w, PNG_CHANNELS[color_type]))
    with open(args.out, "wb") as f:
        f.write(encode_png(samples, args.bits if palette is None else 8, color_type, palette))


def png_digest(args):
    for path in args.pngs:
        print(digest_line(os.path.basename(path)[:-4], gray_levels(path)))


# ---- other formats ----

def write_bmp(args):
    """Uncompressed 8-bit BMP with a gray palette (bottom-up rows padded to 4 bytes)."""
    image = find_tensor(args.stream, args.id)
    if image.dtype != np.uint8 or image.ndim != 2:
        sys.exit("bmp: need a u8 [H, W] image")
    h, w = image.shape
    stride = (w + 3) // 4 * 4
    palette = b"".join(bytes([i, i, i, 0]) for i in range(256))
    pixels = b"".join(image[y].tobytes() + b"\0" * (stride - w) for y in range(h - 1, -1, -1))
    offset = 14 + 40 + len(palette)
    file_header = b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset)
    info_header = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 8, 0, len(pixels), 2835, 2835, 256, 0)
    with open(args.out, "wb") as f:
        f.write(file_header + info_header + palette + pixels)


def write_raw(args):
    image = find_tensor(args.stream, args.id)
    with open(args.out, "wb") as f:
        f.write(image.astype(image.dtype.newbyteorder("<")).tobytes())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("write")
    s.add_argument("out")
    s.add_argument("--records", type=int, default=6)
    s.add_argument("--shape", default="8,8")
    s.add_argument("--dtype", default="u8", choices=sorted(cxstream.DTYPES))
    s.add_argument("--kind", default="image")
    s.add_argument("--format", default="cxr-mtl-stream")
    s.add_argument("--nonfinite", action="store_true")
    s.add_argument("--seed", type=int, default=1)
    s.set_defaults(run=write_stream)
    s = sub.add_parser("png")
    s.add_argument("out")
    s.add_argument("--bits", type=int, default=8, choices=[8, 16])
    s.add_argument("--size", default="6,9")
    s.add_argument("--mode", default="gray", choices=sorted(MODES))
    s.add_argument("--seed", type=int, default=1)
    s.set_defaults(run=write_png)
    s = sub.add_parser("digest")
    s.add_argument("stream")
    s.add_argument("--tensor", default="image")
    s.add_argument("--full", action="store_true")
    s.set_defaults(run=digest)
    s = sub.add_parser("pngdigest")
    s.add_argument("pngs", nargs="+")
    s.set_defaults(run=png_digest)
    for name, run in (("bmp", write_bmp), ("raw", write_raw)):
        s = sub.add_parser(name)
        s.add_argument("stream")
        s.add_argument("id")
        s.add_argument("out")
        s.set_defaults(run=run)
    args = p.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
