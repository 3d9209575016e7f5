#!/usr/bin/python3
"""The PyTorch peer of bench_lenet.cpp: the same LeNet-5 (ReLU, max pooling), the same work.

    /usr/bin/python3 bench/peer_lenet.py [--threads N] [--steps S] [--repeats R] [--train-only]
"""
import argparse
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=1)
p.add_argument("--steps", type=int, default=50)
p.add_argument("--repeats", type=int, default=5)
p.add_argument("--train-only", action="store_true")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(1)

net = nn.Sequential(
    nn.Unflatten(1, (1, 28, 28)),
    nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
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
