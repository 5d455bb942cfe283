"""Seed corpora for the fuzz harnesses: small valid inputs of each kind, written into
tests/fuzz/corpus/<harness>/. Deterministic; run from the repository root:
    /usr/bin/python3 tests/fuzz/make_corpus.py
"""
import os
import struct
import sys
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "ref"))
import cxstream  # noqa: E402
import numpy as np  # noqa: E402

OUT = os.path.join("tests", "fuzz", "corpus")
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def pack_row(samples, bits):
    """One scanline: samples packed MSB first below 8 bits, big-endian at 16."""
    if bits == 16:
        return b"".join(struct.pack(">H", int(s)) for s in samples)
    if bits == 8:
        return bytes(int(s) for s in samples)
    out = bytearray((len(samples) * bits + 7) // 8)
    for i, s in enumerate(samples):
        out[i * bits // 8] |= int(s) << (8 - bits - i * bits % 8)
    return bytes(out)


def png(pixels, bits, color_type, extra=b"", interlace=False):
    """pixels: array [H, W, channels] (channels 1 for gray and palette indices)."""
    h, w, _ = pixels.shape
    if interlace:
        passes = [pixels[y0::dy, x0::dx] for x0, y0, dx, dy in ADAM7]
        passes = [p for p in passes if p.size]
    else:
        passes = [pixels]
    raw = b"".join(b"\0" + pack_row(row.reshape(-1), bits) for p in passes for row in p)
    ihdr = struct.pack(">IIBBBBB", w, h, bits, color_type, 0, 0, int(interlace))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def png_seeds(rng):
    def samples(h, w, c, bits):
        return rng.integers(0, 1 << bits, size=(h, w, c))
    plte = chunk(b"PLTE", bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 200, 100, 50]))
    return {
        "gray1.png": png(samples(5, 13, 1, 1), 1, 0),
        "gray4.png": png(samples(3, 7, 1, 4), 4, 0),
        "gray8.png": png(samples(8, 8, 1, 8), 8, 0),
        "gray16.png": png(samples(3, 4, 1, 16), 16, 0),
        "gray8-trns.png": png(samples(4, 4, 1, 8), 8, 0, chunk(b"tRNS", struct.pack(">H", 7))),
        "gray-alpha8.png": png(samples(4, 5, 2, 8), 8, 4),
        "rgb8.png": png(samples(4, 4, 3, 8), 8, 2),
        "rgba16.png": png(samples(3, 3, 4, 16), 16, 6),
        "palette4-trns.png": png(rng.integers(0, 4, size=(4, 6, 1)), 4, 3, plte + chunk(b"tRNS", bytes([255, 128, 0]))),
        "adam7-gray8.png": png(samples(9, 9, 1, 8), 8, 0, interlace=True),
        "adam7-rgb16.png": png(samples(5, 6, 3, 16), 16, 2, interlace=True),
    }


def csv_seeds():
    return {
        "labels.csv": b"id,patient,center,severe\nP001-a,P001,A,1\nP002-a,P002,B,0\n",
        "quoted.csv": b'id,note,score\r\n1,"a, b",0.5\r\n2,"say ""hi""",\r\n3,"two\r\nlines",-1\r\n',
        "bom.csv": b"\xef\xbb\xbfname,value\nx,1\ny,2",
        "one-column.csv": b"key\nk1\n\nk3\n\n",
    }


def stream_bytes(records):
    class Sink:
        data = b""

        def write(self, b):
            self.data += b
    sink = Sink()
    w = cxstream.Writer(sink, cxstream.header("images", tool="make_corpus", argv=["make_corpus"]))
    for rid, meta, tensors in records:
        w.put(rid, meta, tensors)
    w.close()
    return sink.data


def stream_seeds(rng):
    image = rng.integers(0, 256, size=(4, 5)).astype(np.uint8)
    mask = (rng.random((4, 5)) > 0.5).astype(np.uint8)
    emb = rng.standard_normal(6).astype(np.float32)
    one = ("P001", {"patient": "P001", "label": 1, "weight": 0.5, "tags": ["a", None, True]},
           {"image": image, "mask": mask})
    two = ("P002", {"fold": 3}, {"embedding": emb, "shape16": np.arange(6, dtype=np.uint16).reshape(2, 3),
                                 "wide": np.arange(3, dtype=np.int64), "half": emb[:2].astype(np.float16),
                                 "f64": np.array([1.5]), "i32": np.array([-1, 2], dtype=np.int32)})
    record = {"id": "R1", "meta": {"k": 1}, "tensors": {"x": cxstream.encode_tensor(emb)}}
    import msgpack
    return {
        "two-records.cxs": stream_bytes([one, two]),
        "empty.cxs": stream_bytes([]),
        "record.msgpack": msgpack.packb(record, use_bin_type=True),
    }


def main():
    rng = np.random.default_rng(2024)
    for harness, seeds in (("png", png_seeds(rng)), ("csv", csv_seeds()), ("stream", stream_seeds(rng))):
        d = os.path.join(OUT, harness)
        os.makedirs(d, exist_ok=True)
        for name, data in sorted(seeds.items()):
            assert len(data) < 4096, name
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
