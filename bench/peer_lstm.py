#!/usr/bin/python3
"""PyTorch peer of bench/bench_lstm.cpp: the same network, data shape, optimizer and timing.

Embedding 65 -> 64, nn.LSTM(64, 256) (one layer), Linear 256 -> 65; random characters,
sequences of 128 (time-major), batch 32; a training step is forward, cross-entropy over all
T*B positions, backward, clip_grad_norm_(5), Adam(2e-3). Timed in rounds of `--steps` steps
after a warm-up (median characters/s), within `--budget` seconds per thread count as in
bench_lstm.cpp. Batch-1 generation: one character at a time with the
state carried, softmax at temperature 0.8 and torch.multinomial, under torch.no_grad()
(median of 10 chunks, microseconds per character).

Prints one "RESULT <key> <value>" line per measurement, for scripts/bench_lstm.sh.
Run with Debian's python3-torch: /usr/bin/python3 bench/peer_lstm.py [--threads 1,2]
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F

VOCAB, EMBED, HIDDEN, T, B = 65, 64, 256, 128, 32


class CharLSTM(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(VOCAB, EMBED)
        self.lstm = torch.nn.LSTM(EMBED, HIDDEN)
        self.head = torch.nn.Linear(HIDDEN, VOCAB)

    def forward(self, x, state=None):
        out, state = self.lstm(self.emb(x), state)
        return self.head(out), state


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--chars", type=int, default=2000)
    ap.add_argument("--budget", type=float, default=20.0, help="seconds of timed training per thread count")
    args = ap.parse_args()
    warmup = 2
    gen = torch.Generator().manual_seed(2024)
    print(f"# PyTorch {torch.__version__} peer_lstm: embedding {VOCAB} -> {EMBED}, LSTM {HIDDEN}, linear -> {VOCAB};"
          f" T {T}, batch {B}, Adam 2e-3, clip 5")

    for t in [int(s) for s in args.threads.split(",")]:
        torch.set_num_threads(t)
        torch.manual_seed(42)
        model = CharLSTM()
        opt = torch.optim.Adam(model.parameters(), lr=2e-3)
        last = 0.0

        def train_step():
            nonlocal last
            x = torch.randint(0, VOCAB, (T, B), generator=gen)
            y = torch.randint(0, VOCAB, (T * B,), generator=gen)
            opt.zero_grad()
            logits, _ = model(x)
            loss = F.cross_entropy(logits.reshape(T * B, VOCAB), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            last = loss.item()

        for _ in range(warmup):
            train_step()
        rates = []
        start = time.perf_counter()
        over = lambda: time.perf_counter() - start > args.budget
        for r in range(args.rounds):
            if r > 0 and over():
                break
            t0 = time.perf_counter()
            done = 0
            while done < args.steps and not (done > 0 and over()):
                train_step()
                done += 1
            rates.append(done * T * B / (time.perf_counter() - t0))
        train = statistics.median(rates)

        model.eval()
        per_char = []
        with torch.no_grad():
            ch = torch.zeros(1, 1, dtype=torch.long)
            state = None

            def step():
                nonlocal ch, state
                logits, state = model(ch, state)
                probs = torch.softmax(logits.reshape(VOCAB) / 0.8, dim=0)
                ch = torch.multinomial(probs, 1, generator=gen).reshape(1, 1)

            for _ in range(200):
                step()
            chunks = 10
            calls = args.chars // chunks
            for _ in range(chunks):
                t0 = time.perf_counter()
                for _ in range(calls):
                    step()
                per_char.append((time.perf_counter() - t0) * 1e6 / calls)
        gen_us = statistics.median(per_char)
        print(f"# threads={t} train: median {train:.0f} chars/s (min {min(rates):.0f}, max {max(rates):.0f};"
              f" loss {last:.3f})  generate batch 1: {gen_us:.2f} us/char")
        print(f"RESULT train_cps_t{t} {train:.1f}")
        print(f"RESULT gen_us_t{t} {gen_us:.3f}")


if __name__ == "__main__":
    main()
