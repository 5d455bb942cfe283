#!/usr/bin/env python3
"""Reference for tests/unit/test_graph.c: a small network that uses every op the graph knows
(conv, depthwise conv, batch norm, activations, max/avg/adaptive pooling, upsampling, residual
add, SE-style gating mul, concat, chunk, channel shuffle, flatten, linear, log-softmax) with two
heads, run in PyTorch. Writes tests/data/ref/graph.cxs: the weights, an input, the two heads'
outputs, the gradients of L = sum(pa * head_a) + sum(pb * head_b) for every parameter and the
input, the BatchNorm running statistics after that training-mode pass, the eval-mode outputs
after it, and the parameters after three Adam steps (lr 1e-2, weight decay 1e-4).

    /usr/bin/python3 tests/ref/gen_graph.py
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import cxstream  # noqa: E402


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.block = nn.ModuleDict({
            "conv1": nn.Conv2d(8, 8, 3, 1, 1, bias=False), "bn1": nn.BatchNorm2d(8),
            "conv2": nn.Conv2d(8, 8, 3, 1, 1, bias=False), "bn2": nn.BatchNorm2d(8, eps=1e-3)})
        self.side = nn.Conv2d(8, 4, 1, bias=True)
        self.dw = nn.Conv2d(12, 12, 3, 2, 1, groups=12, bias=False)
        self.bn3 = nn.BatchNorm2d(12)
        self.head_a = nn.Linear(12, 2)
        self.head_b = nn.Linear(12, 4)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.max_pool2d(x, 3, 2, 1)
        b = self.block
        r = b["bn2"](b["conv2"](F.relu(b["bn1"](b["conv1"](x)))))
        x = F.relu(x + r)
        x = torch.cat([x, self.side(x)], 1)
        n, c, h, w = x.shape
        x = x.view(n, 3, c // 3, h, w).transpose(1, 2).reshape(n, c, h, w)   # channel shuffle, 3 groups
        x = F.hardswish(self.bn3(self.dw(x)))
        a, g = torch.chunk(x, 2, 1)
        a = a * torch.sigmoid(F.adaptive_avg_pool2d(g, 1))
        x = torch.cat([a, F.silu(g)], 1)
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = F.avg_pool2d(x, 2, 2)
        f = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.head_a(f), F.log_softmax(self.head_b(f), 1)


def main():
    torch.manual_seed(20261123)
    net = Net()
    with torch.no_grad():   # non-trivial affine parameters and running statistics
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    state0 = {k: v.clone() for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    x = torch.randn(3, 3, 16, 16, requires_grad=True)
    pa, pb = torch.randn(3, 2), torch.randn(3, 4)

    out_a, out_b = net(x)
    (pa * out_a).sum().add((pb * out_b).sum()).backward()
    tensors = {"x": x.detach(), "probe_a": pa, "probe_b": pb, "out_a": out_a.detach(), "out_b": out_b.detach(),
               "grad/x": x.grad.clone()}
    for k, v in state0.items():
        tensors["param/" + k] = v
    for k, p in net.named_parameters():
        tensors["grad/" + k] = p.grad.clone()
    for k, v in net.state_dict().items():
        if "running" in k:
            tensors["running/" + k] = v.clone()
    net.eval()
    with torch.no_grad():
        ea, eb = net(x)
    tensors["eval_a"], tensors["eval_b"] = ea, eb

    net.load_state_dict(state0, strict=False)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2, weight_decay=1e-4)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        a, b = net(x.detach())
        loss = (pa * a).sum() + (pb * b).sum()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    for k, p in net.named_parameters():
        tensors["adam/" + k] = p.detach().clone()
    tensors["adam_losses"] = torch.tensor(losses, dtype=torch.float32)

    path = os.path.join(os.path.dirname(__file__), "..", "data", "ref", "graph.cxs")
    with open(path, "wb") as f:
        w = cxstream.Writer(f, cxstream.header("reference", tool="gen_graph.py", argv=["tests/ref/gen_graph.py"]))
        w.put("net", {"torch": torch.__version__},
              {k: v.detach().numpy().astype("float32") for k, v in sorted(tensors.items())})
        w.close()


if __name__ == "__main__":
    main()
