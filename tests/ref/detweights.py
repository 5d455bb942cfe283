"""Deterministic weights that C and Python compute identically, so that a parity test needs to
commit only small reference outputs, never a model's weights (tests/unit/detweights.c is the C
side; the two must stay in step).

Element i of the tensor named K is lo + (hi - lo) * u, u = (z >> 40) / 2^24 in [0, 1), where
z is splitmix64's output number i + 1 from the state fnv1a64(K): mix(state + (i + 1) * GAMMA).
The range comes from the name and shape: weights of convolutions and linear layers
U(-sqrt(3 / fan_in), +) (unit output variance), 1-D weights (norm layers) U(0.5, 1.5), biases
U(-0.2, 0.2), running means U(-0.1, 0.1), running variances U(0.5, 1.5).
"""
import numpy as np

GAMMA = np.uint64(0x9E3779B97F4A7C15)


def fnv1a64(name):
    h = 0xCBF29CE484222325
    for b in name.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def value_range(name, shape):
    if len(shape) >= 2:
        fan_in = int(np.prod(shape[1:]))
        b = float(np.sqrt(3.0 / fan_in))
        return -b, b
    if name.endswith("running_mean"):
        return -0.1, 0.1
    if name.endswith("running_var") or name.endswith("weight"):
        return 0.5, 1.5
    return -0.2, 0.2


def det_tensor(name, shape):
    n = int(np.prod(shape)) if len(shape) else 1
    with np.errstate(over="ignore"):
        idx = np.arange(1, n + 1, dtype=np.uint64)
        z = _mix(np.uint64(fnv1a64(name)) + idx * GAMMA)
    u = (z >> np.uint64(40)).astype(np.float64) * (1.0 / (1 << 24))
    lo, hi = value_range(name, shape)
    return (lo + (hi - lo) * u).astype(np.float32).reshape(shape)


def fill_module(module):
    """Overwrite every parameter and buffer (but num_batches_tracked) of a torch module."""
    import torch
    with torch.no_grad():
        for name, t in list(module.named_parameters()) + list(module.named_buffers()):
            if name.endswith("num_batches_tracked"):
                continue
            t.copy_(torch.from_numpy(det_tensor(name, tuple(t.shape))))
