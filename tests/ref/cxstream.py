"""Read and write cxr-mtl tensor streams (format v1, see man/man5/cxr-stream.5) from Python.

Only python3-msgpack and numpy are needed. A stream is a header map, record maps, and an end
marker {"end": count}. Tensors are {"dtype": "f32", "shape": [...], "data": <little-endian bytes>}.
"""
import sys

import msgpack
import numpy as np

DTYPES = {"u8": "<u1", "u16": "<u2", "i32": "<i4", "i64": "<i8", "f16": "<f2", "f32": "<f4", "f64": "<f8"}
NAMES = {np.dtype(v): k for k, v in DTYPES.items()}


def header(kind, tool="python", argv=None, **extra):
    h = {"format": "cxr-mtl-stream", "version": 1, "kind": kind,
         "producer": {"tool": tool, "version": "0", "argv": list(argv if argv is not None else sys.argv)},
         "inputs": []}
    h.update(extra)
    return h


def encode_tensor(a):
    a = np.ascontiguousarray(a)
    name = NAMES.get(a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype)
    if name is None:
        raise ValueError("unsupported dtype %s" % a.dtype)
    return {"dtype": name, "shape": list(a.shape), "data": a.astype(DTYPES[name], copy=False).tobytes()}


def decode_tensor(t):
    return np.frombuffer(t["data"], dtype=DTYPES[t["dtype"]]).reshape(t["shape"])


class Writer:
    def __init__(self, f, hdr):
        self.f, self.count = f, 0
        self.f.write(msgpack.packb(hdr, use_bin_type=True))

    def put(self, rid, meta=None, tensors=None):
        rec = {"id": str(rid), "meta": meta or {},
               "tensors": {k: encode_tensor(v) for k, v in (tensors or {}).items()}}
        self.f.write(msgpack.packb(rec, use_bin_type=True))
        self.count += 1

    def close(self):
        self.f.write(msgpack.packb({"end": self.count}, use_bin_type=True))


def read(f):
    """Yield (header, None) once, then (record, tensors) pairs; raises on a missing end marker."""
    unpacker = msgpack.Unpacker(f, raw=False, max_buffer_size=1 << 32)
    hdr = next(unpacker)
    if hdr.get("format") != "cxr-mtl-stream" or hdr.get("version") != 1:
        raise ValueError("not a cxr-mtl stream v1")
    yield hdr, None
    count = 0
    for obj in unpacker:
        if "end" in obj:
            if obj["end"] != count:
                raise ValueError("end marker says %d records, read %d" % (obj["end"], count))
            return
        count += 1
        yield obj, {k: decode_tensor(v) for k, v in obj.get("tensors", {}).items()}
    raise ValueError("truncated stream: no end marker after %d records" % count)
