#!/usr/bin/python3
"""Read a cxr-mtl stream from Python with nothing but python3-msgpack and numpy.

    cxr-phantom --size 64 --patients 3 | python3 examples/read_stream.py

prints each record's id, its labels and the mean pixel inside and outside the lung mask.
"""
import sys

import msgpack
import numpy as np

DTYPES = {"u8": "<u1", "u16": "<u2", "i32": "<i4", "i64": "<i8", "f16": "<f2", "f32": "<f4", "f64": "<f8"}


def tensor(t):
    return np.frombuffer(t["data"], dtype=DTYPES[t["dtype"]]).reshape(t["shape"])


def main(f):
    unpacker = msgpack.Unpacker(f, raw=False, max_buffer_size=1 << 30)
    header = next(unpacker)
    assert header["format"] == "cxr-mtl-stream" and header["version"] == 1, "not a cxr-mtl stream"
    print("kind %s from %s" % (header["kind"], header["producer"]["tool"]))
    count = 0
    for rec in unpacker:
        if "end" in rec:  # the end marker: the stream is complete
            assert rec["end"] == count
            print("%d records" % count)
            return 0
        count += 1
        image = tensor(rec["tensors"]["image"]).astype(np.float64)
        mask = tensor(rec["tensors"]["mask"]).astype(bool)
        labels = {k: v for k, v in rec["meta"].items() if k in ("prognosis", "brixia_global", "brixia_class")}
        print("%-12s %-10s %s lung %.1f outside %.1f" % (rec["id"], rec["meta"].get("dataset"), labels,
                                                        image[mask].mean(), image[~mask].mean()))
    print("truncated stream: no end marker", file=sys.stderr)
    return 65


if __name__ == "__main__":
    sys.exit(main(open(sys.argv[1], "rb") if len(sys.argv) > 1 else sys.stdin.buffer))
