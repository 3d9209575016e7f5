#!/usr/bin/python3
"""PyTorch peer of bench/bench_mlp.cpp: the same network, data shape, optimizer and timing.

MLP 784-256-128-10 (ReLU), softmax cross-entropy, Adam lr 1e-3, batch 128, on synthetic data
shaped like Fashion-MNIST (60000 x 784 uniform pixels, uniform labels). Training is timed in
rounds of `--batches` batches after a warm-up (median reported); batch-1 inference is eager
model(x) under torch.no_grad() (median of 10 chunks, microseconds per call).

Prints one "RESULT <key> <value>" line per measurement, for scripts/bench.sh.
Run with Debian's python3-torch: /usr/bin/python3 bench/peer_mlp.py [--threads 1,2]
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--batches", type=int, default=50)
    ap.add_argument("--infer-calls", type=int, default=2000)
    args = ap.parse_args()

    rows, features, classes, batch, warmup = 60000, 784, 10, 128, 20
    gen = torch.Generator().manual_seed(2024)
    x = torch.rand(rows, features, generator=gen)
    y = torch.randint(0, classes, (rows,), generator=gen)
    print(f"# PyTorch {torch.__version__} peer_mlp: MLP 784-256-128-10 ReLU, softmax CE, Adam lr 1e-3, batch {batch}")

    for t in [int(s) for s in args.threads.split(",")]:
        torch.set_num_threads(t)
        torch.manual_seed(42)
        model = torch.nn.Sequential(
            torch.nn.Linear(features, 256), torch.nn.ReLU(),
            torch.nn.Linear(256, 128), torch.nn.ReLU(),
            torch.nn.Linear(128, classes))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        order = torch.randperm(rows, generator=gen)
        pos = 0
        last = 0.0

        def train_batch():
            nonlocal pos, last
            if pos + batch > rows:
                pos = 0
            idx = order[pos:pos + batch]
            pos += batch
            xb, yb = x[idx], y[idx]
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            last = loss.item()

        for _ in range(warmup):
            train_batch()
        rates = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            for _ in range(args.batches):
                train_batch()
            rates.append(args.batches * batch / (time.perf_counter() - t0))
        train = statistics.median(rates)

        model.eval()
        x1 = x[0:1].clone()
        per_call = []
        with torch.no_grad():
            for _ in range(200):
                model(x1)
            chunks = 10
            calls = args.infer_calls // chunks
            for _ in range(chunks):
                t0 = time.perf_counter()
                for _ in range(calls):
                    model(x1)
                per_call.append((time.perf_counter() - t0) * 1e6 / calls)
        infer = statistics.median(per_call)
        print(f"# threads={t} train: median {train:.0f} samples/s (min {min(rates):.0f}, max {max(rates):.0f};"
              f" loss {last:.3f})  infer batch 1: {infer:.2f} us")
        print(f"RESULT train_sps_t{t} {train:.1f}")
        print(f"RESULT infer_us_t{t} {infer:.3f}")


if __name__ == "__main__":
    main()
