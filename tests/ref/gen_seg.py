"""Reference values for tests/unit/test_seg.c: the affine warp of lib/image/augment.c against
scipy.ndimage.affine_transform (order 1, mode 'grid-constant': bilinear with the neighbours
outside the plane read as cval), and percentiles against numpy.

Run from the repository root: /usr/bin/python3 tests/ref/gen_seg.py (writes tests/data/ref/seg.cxs).
"""
import math
import os
import sys

import numpy as np
from scipy import ndimage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cxstream  # noqa: E402

H, W = 20, 24


def rotation(theta_deg, scale, tx, ty, flip):
    """src_of (x, y) for the forward map flip -> rotate -> scale -> shift about the centre."""
    th = math.radians(theta_deg)
    cx, cy = (W - 1) / 2, (H - 1) / 2
    f = -1.0 if flip else 1.0
    inv = np.array([[math.cos(th), math.sin(th)], [-math.sin(th), math.cos(th)]]) / scale
    inv[0] *= f
    o = np.array([cx + tx, cy + ty])
    off = np.array([cx, cy]) - inv @ o
    return [inv[0, 0], inv[0, 1], off[0], inv[1, 0], inv[1, 1], off[1]]


def main():
    rng = np.random.default_rng(5)
    image = rng.random((H, W)).astype(np.float32)
    mats = [
        [1, 0, 0, 0, 1, 0],                 # identity
        [1, 0, 3, 0, 1, -2],                # integer shift: out(x, y) = in(x + 3, y - 2)
        [1, 0, 0.25, 0, 1, 0.5],            # sub-pixel shift
        rotation(8, 1.07, 1.5, -2.0, False),
        rotation(-10, 0.9, -1.2, 0.7, True),
        rotation(37, 1.3, 0, 0, False),     # large: much of the output reads outside
    ]
    mats = np.array(mats, dtype=np.float64)
    fill = 0.25
    outs = []
    for m in mats:
        # scipy works in (row, col) = (y, x): [ys, xs] = [[m4, m3], [m1, m0]] [y, x] + [m5, m2]
        matrix = np.array([[m[4], m[3]], [m[1], m[0]]])
        offset = np.array([m[5], m[2]])
        out = ndimage.affine_transform(image.astype(np.float64), matrix, offset, order=1, mode="grid-constant",
                                       cval=fill, prefilter=False)
        outs.append(out.astype(np.float32))
    ramp = np.arange(16 * 16, dtype=np.float64).reshape(16, 16) % 251
    p1, p99 = np.percentile(ramp, 1), np.percentile(ramp, 99)
    scores = np.array([0.91, 0.42, 0.97, 0.88, 0.95, 0.99, 0.73, 0.96, 0.93, 0.9, 0.94, 0.98, 0.85, 0.97,
                       0.92, 0.96, 0.89, 0.95, 0.97, 0.6, 0.93, 0.94])
    os.makedirs("tests/data/ref", exist_ok=True)
    with open("tests/data/ref/seg.cxs", "wb") as f:
        w = cxstream.Writer(f, cxstream.header("reference", tool="gen_seg.py"))
        w.put("warp", {"fill": fill}, {"image": image, "src_of": mats, "out": np.stack(outs)})
        w.put("percentile", {"p1": float(p1), "p99": float(p99)}, {"ramp": ramp.astype(np.float32)})
        w.put("summary", {"mean": float(scores.mean()), "median": float(np.median(scores)),
                          "p5": float(np.percentile(scores, 5)),
                          "worst5_mean": float(np.sort(scores)[:math.ceil(0.05 * len(scores))].mean())},
              {"scores": scores})
        w.close()


if __name__ == "__main__":
    main()
