#!/usr/bin/python3
"""The PyTorch peer of bench_lenet.cpp: the same networks, the same work.

    /usr/bin/python3 bench/peer_lenet.py [--threads N] [--steps S] [--repeats R] [--train-only]
                                         [--model lenet5|resnet] [--summary] [--check FILE] [--profile]

--model lenet5: LeNet-5 (ReLU, max pooling). --model resnet: the twin of nn::make_resnet's
default network (src/backprop/nn/cnn.cpp), layer for layer:
    random left-right mirror (p = 1/2 per sample, training only) - conv 3x3 1->32 (no bias) -
    max pool 2 - batch norm - ReLU - basic block 32 -> 32 - basic block 32 -> 64, stride 2,
    1x1 projection with bias - flatten (64*7*7) - dropout 0.3 - linear 10
with the basic block conv3x3(stride)-BN-ReLU-conv3x3-BN, plus the shortcut, then ReLU
(nn::make_basic_block); batch norm momentum 0.1, eps 1e-5 on both sides; Adam lr 1e-3.
--summary prints the parameter count and every parameter's shape (bench_lenet --summary
prints ours). --check FILE reads a safetensors file written by `bench_lenet --model resnet
--dump FILE` (our weights, an input batch, and our outputs and gradients), loads the weights
into the twin and checks that both sides compute the same thing; exits 1 if not.
--profile prints PyTorch's own profile of S training steps (self CPU time per operator), beside
bench_lenet --profile.
"""
import argparse
import json
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=1)
p.add_argument("--steps", type=int, default=50)
p.add_argument("--repeats", type=int, default=5)
p.add_argument("--train-only", action="store_true")
p.add_argument("--model", choices=["lenet5", "resnet"], default="lenet5")
p.add_argument("--summary", action="store_true")
p.add_argument("--check", metavar="FILE")
p.add_argument("--profile", action="store_true")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(1)


class RandomFlip(nn.Module):
    """Our RandomShiftFlip(0, flip=True): each sample mirrored left-right with probability 1/2."""

    def forward(self, x):
        if not self.training:
            return x
        m = torch.rand(x.shape[0]) < 0.5
        return torch.where(m[:, None, None, None], x.flip(3), x)


class BasicBlock(nn.Module):
    """nn::make_basic_block: post-ReLU(conv-BN-ReLU-conv-BN + shortcut); a 1x1 projection
    (with bias, no batch norm) where the shape changes. Attribute order = our parameter order."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout, momentum=0.1, eps=1e-5)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout, momentum=0.1, eps=1e-5)
        self.proj = nn.Conv2d(cin, cout, 1, stride=stride, bias=True) if cin != cout or stride != 1 else None

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (self.proj(x) if self.proj is not None else x))


def make_resnet(flip=True, dropout=0.3):
    layers = [nn.Unflatten(1, (1, 28, 28))]
    if flip:
        layers.append(RandomFlip())
    layers += [nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.MaxPool2d(2),
               nn.BatchNorm2d(32, momentum=0.1, eps=1e-5), nn.ReLU(),
               BasicBlock(32, 32, 1), BasicBlock(32, 64, 2), nn.Flatten()]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(64 * 7 * 7, 10))
    return nn.Sequential(*layers)


def make_lenet5():
    return nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def read_safetensors(path):
    """{name: float32 array} from a safetensors file (F32 only, as backprop writes them)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", name
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(data[b:end], dtype="<f4").reshape(e["shape"]).copy()
    return out


def check(path):
    """Our weights into the twin (without mirroring and dropout, as bench_lenet --dump builds
    ours), then: eval-mode logits, training-mode logits and loss, every parameter's gradient,
    and the running statistics after that one training forward, against ours."""
    t = read_safetensors(path)
    net = make_resnet(flip=False, dropout=0)
    params = list(net.parameters())
    ours = sorted((k for k in t if k.startswith("param.")), key=lambda k: int(k.split(".")[1]))
    bufs = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(ours) == len(params), f"{len(ours)} parameters in the file, {len(params)} in the twin"
    with torch.no_grad():
        for k, prm in zip(ours, params):
            assert tuple(t[k].shape) == tuple(prm.shape), f"{k}: ours {t[k].shape}, twin {tuple(prm.shape)}"
            prm.copy_(torch.from_numpy(t[k]))
        for i, bn in enumerate(bufs):
            bn.running_mean.copy_(torch.from_numpy(t[f"running_mean.{i}"]))
            bn.running_var.copy_(torch.from_numpy(t[f"running_var.{i}"]))
    x = torch.from_numpy(t["x"])
    y = torch.from_numpy(t["y"]).long()
    worst = []

    def compare(what, twin, our, tol=2e-4):
        twin = twin.detach().numpy()
        err = float(np.max(np.abs(twin - our)) / max(1.0, float(np.max(np.abs(twin)))))
        worst.append((err, what))
        if err > tol:
            print(f"MISMATCH {what}: max relative difference {err:.3g}")
    net.eval()
    with torch.no_grad():
        compare("eval logits", net(x), t["logits_eval"])
    net.train()
    loss = F.cross_entropy(net(x), y)
    compare("training loss", loss, t["loss"])
    loss.backward()
    for k, prm in zip(ours, params):
        compare("gradient " + k[len("param."):].split(".", 1)[1], prm.grad, t["grad" + k[len("param"):]], 1e-3)
    for i, bn in enumerate(bufs):
        compare(f"running_mean {i}", bn.running_mean, t[f"after.running_mean.{i}"])
        compare(f"running_var {i}", bn.running_var, t[f"after.running_var.{i}"])
    bad = [w for w in worst if w[0] > (1e-3 if w[1].startswith("gradient") else 2e-4)]
    err, what = max(worst)
    print(f"twin check: {len(worst)} comparisons (logits, loss, {len(params)} gradients, running statistics), "
          f"worst relative difference {err:.2g} ({what}): {'MISMATCH' if bad else 'same network'}")
    return 1 if bad else 0


def summary(net):
    n = sum(q.numel() for q in net.parameters())
    print(f"parameters {n}")
    for name, q in net.named_parameters():
        print(f"  {name} {'x'.join(str(d) for d in q.shape)}")


if a.check:
    sys.exit(check(a.check))
net = make_resnet() if a.model == "resnet" else make_lenet5()
if a.summary:
    summary(net)
    sys.exit(0)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
batch, nbatches = 128, 8
xs = [torch.rand(batch, 784) for _ in range(nbatches)]
ys = [torch.randint(0, 10, (batch,)) for _ in range(nbatches)]


def train_steps(n):
    for s in range(n):
        opt.zero_grad()
        loss = F.cross_entropy(net(xs[s % nbatches]), ys[s % nbatches])
        loss.backward()
        opt.step()


net.train()
train_steps(5)
if a.profile:  # the process's CPU time first (as bench_lenet --profile counts), then under the profiler
    t0 = time.process_time()
    train_steps(a.steps)
    cpu = time.process_time() - t0
    with torch.autograd.profiler.profile() as prof:
        train_steps(a.steps)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25))
    print(f"total {1e3 * cpu / a.steps:.3f} CPU ms per step (without the profiler; "
          f"{batch * a.steps / cpu:.1f} samples per CPU second)")
    sys.exit(0)
rates = []
for _ in range(a.repeats):
    t0 = time.perf_counter()
    train_steps(a.steps)
    rates.append(a.steps * batch / (time.perf_counter() - t0))
print(f"train threads={a.threads} samples_per_s={statistics.median(rates):.1f}", flush=True)
if not a.train_only:
    net.eval()
    with torch.no_grad():
        for bs in (128, 1):
            inputs = [xs[0][i:i + bs].contiguous() for i in range(0, batch, bs)]
            calls = 2000 if bs == 1 else max(a.steps * 2, 20)
            for i in range(10):
                net(inputs[i % len(inputs)])
            rates = []
            for _ in range(a.repeats):
                t0 = time.perf_counter()
                for i in range(calls):
                    net(inputs[i % len(inputs)])
                rates.append(calls * bs / (time.perf_counter() - t0))
            print(f"infer{bs} threads={a.threads} samples_per_s={statistics.median(rates):.1f}", flush=True)
