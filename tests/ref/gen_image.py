"""Reference cases for lib/image: resizing, connected components, hole filling, percentiles.

Run from the repository root with Debian's python3 (torch 1.13, scipy 1.10, PIL, numpy):
    /usr/bin/python3 tests/ref/gen_image.py
It writes tests/data/ref/image.cxs, one record per case; meta "op" says which:
  resize      x f32 [h, w]; bilinear = torch F.interpolate(bilinear, align_corners=False, no
              antialias) in float64; area = the exact coverage average, computed by repeating
              each pixel out times per axis and averaging runs of in (no fractional arithmetic);
              area_pil = PIL Image.resize(BOX) (meta whole_ratio: in/out whole on both axes,
              where PIL's BOX is the coverage average); mixed = cx_resize's choice per axis
              (area on a shrinking axis, bilinear on a growing one), composed from the two.
  nearest     m u8 [h, w] and y = torch F.interpolate(nearest) of it as float.
  components  mask u8 [h, w]; labels i32 = scipy.ndimage.label with a 3x3 structure; comps i64
              [n, 5] = area, x0, y0, x1, y1 per label (from scipy.ndimage.find_objects);
              keep2 = the two largest components (ties: the earlier label) as 0/255;
              filled = scipy.ndimage.binary_fill_holes as 0/255; box2 i64 [4] = union of the boxes
              of the two largest.
  percentile  x u8 or u16 [n]; p f64 [k]; q f64 [k] = numpy.percentile(x, p) (linear).
The output is deterministic: rerunning reproduces the file byte for byte.
"""
import os
import sys

import numpy as np
import scipy.ndimage as ndi
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cxstream import Writer, header  # noqa: E402

OUT = "tests/data/ref/image.cxs"
rng = np.random.default_rng(20240605)


def coverage_1d(a, axis, out):
    """Exact area average along axis: each sample repeated `out` times, then runs of `in` averaged."""
    n = a.shape[axis]
    rep = np.repeat(a, out, axis=axis)
    shape = list(a.shape)
    shape[axis:axis + 1] = [out, n]
    return rep.reshape(shape).mean(axis=axis + 1)


def bilinear(x, dh, dw):
    t = torch.from_numpy(x.astype(np.float64))[None, None]
    return F.interpolate(t, size=(dh, dw), mode="bilinear", align_corners=False)[0, 0].numpy()


def resize_case(w, sh, sw, dh, dw):
    x = rng.standard_normal((sh, sw)).astype(np.float32)
    x64 = x.astype(np.float64)
    area = coverage_1d(coverage_1d(x64, 0, dh), 1, dw)
    pil = np.asarray(Image.fromarray(x, mode="F").resize((dw, dh), Image.BOX), dtype=np.float32)
    # mixed: per axis, area when shrinking, 1-D bilinear otherwise (bilinear with the other axis kept)
    mixed = coverage_1d(x64, 0, dh) if dh < sh else bilinear(x64, dh, sw)
    mixed = coverage_1d(mixed, 1, dw) if dw < sw else bilinear(mixed, dh, dw)
    whole = sh % dh == 0 and sw % dw == 0
    if whole:
        assert np.allclose(pil, area, rtol=1e-5, atol=1e-5), "PIL BOX differs from coverage on a whole ratio"
    meta = {"op": "resize", "sh": sh, "sw": sw, "dh": dh, "dw": dw, "whole_ratio": whole}
    w.put("resize-%dx%d-to-%dx%d" % (sh, sw, dh, dw), meta,
          {"x": x, "bilinear": bilinear(x64, dh, dw).astype(np.float32), "area": area.astype(np.float32),
           "area_pil": pil, "mixed": mixed.astype(np.float32)})


def nearest_case(w, sh, sw, dh, dw):
    m = rng.integers(0, 256, size=(sh, sw)).astype(np.uint8)
    y = F.interpolate(torch.from_numpy(m.astype(np.float32))[None, None], size=(dh, dw), mode="nearest")[0, 0]
    w.put("nearest-%dx%d-to-%dx%d" % (sh, sw, dh, dw), {"op": "nearest", "sh": sh, "sw": sw, "dh": dh, "dw": dw},
          {"m": m, "y": y.numpy().astype(np.uint8)})


def components_case(w, name, mask):
    mask = mask.astype(np.uint8)
    labels, n = ndi.label(mask, structure=np.ones((3, 3), dtype=int))
    comps = np.zeros((n, 5), dtype=np.int64)
    for i, sl in enumerate(ndi.find_objects(labels)):
        comps[i] = [np.sum(labels == i + 1), sl[1].start, sl[0].start, sl[1].stop, sl[0].stop]
    order = sorted(range(n), key=lambda i: (-comps[i, 0], i))[:2]
    keep2 = np.isin(labels, [i + 1 for i in order]).astype(np.uint8) * 255
    box2 = np.array([comps[order, 1].min(), comps[order, 2].min(), comps[order, 3].max(), comps[order, 4].max()]
                    if order else [0, 0, 0, 0], dtype=np.int64)
    filled = ndi.binary_fill_holes(mask).astype(np.uint8) * 255
    w.put("components-" + name, {"op": "components", "h": mask.shape[0], "w": mask.shape[1], "n": int(n)},
          {"mask": mask * 7, "labels": labels.astype(np.int32), "comps": comps, "keep2": keep2, "box2": box2,
           "filled": filled})


def percentile_case(w, name, x):
    p = np.array([0, 2, 2.5, 25, 33.3, 50, 75, 97.9, 98, 99.99, 100], dtype=np.float64)
    q = np.percentile(x, p)   # linear interpolation, numpy's default
    w.put("percentile-" + name, {"op": "percentile"}, {"x": x, "p": p, "q": q.astype(np.float64)})


def blobs(h, w, count):
    """Random ellipses with random holes: masks shaped like lungs with lesions."""
    yy, xx = np.mgrid[0:h, 0:w]
    m = np.zeros((h, w), dtype=bool)
    for _ in range(count):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry, rx = rng.uniform(2, h / 4), rng.uniform(2, w / 4)
        m |= ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1
    for _ in range(count):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        m &= ~(((yy - cy) / 2.5) ** 2 + ((xx - cx) / 1.5) ** 2 < 1)
    return m


def main():
    torch.manual_seed(0)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT + ".tmp", "wb") as f:
        w = Writer(f, header("reference", tool="gen_image.py", argv=["tests/ref/gen_image.py"]))
        for shape in [(7, 5, 3, 2), (13, 17, 5, 9), (12, 9, 4, 3), (5, 7, 11, 13), (1, 1, 3, 4), (3, 1, 7, 2),
                      (9, 9, 9, 9), (20, 50, 30, 25), (50, 20, 25, 30), (101, 67, 24, 24), (17, 23, 24, 24),
                      (64, 64, 32, 32), (2, 3, 1, 1)]:
            resize_case(w, *shape)
        for shape in [(7, 5, 3, 2), (5, 7, 11, 13), (13, 9, 24, 24), (100, 90, 24, 24)]:
            nearest_case(w, *shape)
        components_case(w, "sparse-31x47", rng.random((31, 47)) < 0.15)
        components_case(w, "dense-40x33", rng.random((40, 33)) < 0.45)
        components_case(w, "half-1x60", rng.random((1, 60)) < 0.5)
        components_case(w, "column-50x1", rng.random((50, 1)) < 0.5)
        components_case(w, "blobs-64x80", blobs(64, 80, 6))
        components_case(w, "blobs-97x61", blobs(97, 61, 9))
        components_case(w, "ring-15x15", np.pad(np.ones((9, 9), dtype=bool), 3) & ~np.pad(np.ones((5, 5), dtype=bool), 5))
        components_case(w, "empty-6x5", np.zeros((6, 5), dtype=bool))
        percentile_case(w, "u8-1000", rng.integers(0, 256, size=1000).astype(np.uint8))
        percentile_case(w, "u8-7", rng.integers(0, 256, size=7).astype(np.uint8))
        percentile_case(w, "u8-1", np.array([42], dtype=np.uint8))
        percentile_case(w, "u8-skewed", np.minimum(rng.exponential(20, size=501), 255).astype(np.uint8))
        percentile_case(w, "u16-3001", rng.integers(0, 65536, size=3001).astype(np.uint16))
        percentile_case(w, "u16-12bit-2", np.array([4095, 17], dtype=np.uint16))
        w.close()
    os.replace(OUT + ".tmp", OUT)


if __name__ == "__main__":
    main()
