#!/usr/bin/env python3
"""tests/data/ref/detweights.cxs: a few deterministic tensors from detweights.py, for the C side
to reproduce bit for bit (tests/unit/test_detweights.c).   /usr/bin/python3 tests/ref/gen_detweights.py"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import cxstream  # noqa: E402
import detweights  # noqa: E402

CASES = [("features.conv0.weight", (4, 3, 7, 7)), ("layer4.1.bn2.running_mean", (17,)),
         ("layer4.1.bn2.running_var", (17,)), ("blocks.0.0.bn1.weight", (32,)), ("fc.bias", (1000,)),
         ("classifier.weight", (10, 1280))]

with open(os.path.join(os.path.dirname(__file__), "..", "data", "ref", "detweights.cxs"), "wb") as f:
    w = cxstream.Writer(f, cxstream.header("reference", tool="gen_detweights.py", argv=["tests/ref/gen_detweights.py"]))
    for name, shape in CASES:
        w.put(name, {}, {"value": detweights.det_tensor(name, shape)})
    w.close()
