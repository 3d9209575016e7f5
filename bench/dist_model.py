#!/usr/bin/env python3
"""Time per synchronous data-parallel step from 2 to 64 machines, on paper (docs/distributed.md,
"Planned"): the measured one-thread compute time of a step, the model's size, and a
latency-bandwidth model of ring all-reduce,

    T_ring(P) = 2 (P - 1) alpha + 2 (P - 1) / P * 4 N / beta        (N float32 parameters)

  strong scaling: a global batch of 128 split over P machines:  t = t_c / P + T_ring(P)
  weak scaling:   128 rows per machine (global batch 128 P):    t = t_c + T_ring(P)
(no overlap of communication with the backward pass; with perfect overlap the step would take
max(compute, T_ring) instead of the sum: the "overlap bound" column).

  dist_model.py NAME:PARAMS:STEP_SECONDS [...]
e.g. dist_model.py mlp:235146:0.0061 lenet5:61706:0.020
"""
import sys

LINKS = [  # name, alpha (s per message), beta (bytes/s, ~80 % of the line rate)
    ("10 Gbit/s (TCP, alpha 25 us)", 25e-6, 0.8 * 10e9 / 8),
    ("100 Gbit/s (RDMA, alpha 3 us)", 3e-6, 0.8 * 100e9 / 8),
]
MACHINES = [1, 2, 4, 8, 16, 32, 64]


def ring(p, n, alpha, beta):
    return 0.0 if p == 1 else 2 * (p - 1) * alpha + 2 * (p - 1) / p * 4 * n / beta


def main():
    models = []
    for arg in sys.argv[1:]:
        name, params, step = arg.split(":")
        models.append((name, int(params), float(step)))
    if not models:
        print(__doc__)
        return 2
    for name, n, tc in models:
        print(f"- {name}: {n:,} parameters ({4 * n / 1e6:.2f} MB of gradient), {tc * 1e3:.1f} ms of compute per step of 128 rows")
    print()
    for title, weak in (("strong scaling, global batch 128: ms per step (speed-up over one machine)", False),
                        ("weak scaling, 128 rows per machine: ms per step (efficiency)", True)):
        print(f"{title}:")
        print()
        head = " | ".join(f"{name}, {link.split(' (')[0]}" for name, _, _ in models for link, _, _ in LINKS)
        print(f"| P | {head} |")
        print("|---|" + "---|" * (len(models) * len(LINKS)))
        for p in MACHINES:
            cells = []
            for name, n, tc in models:
                for link, alpha, beta in LINKS:
                    t = ring(p, n, alpha, beta)
                    step = (tc if weak else tc / p) + t
                    cells.append(f"{step * 1e3:.2f} ({tc / step:.0%})" if weak else f"{step * 1e3:.2f} ({tc / step:.1f}x)")
            print(f"| {p} | " + " | ".join(cells) + " |")
        print()
    print("all-reduce alone, ms: " + "; ".join(
        f"{name} {link.split(' (')[0]}: " + ", ".join(f"P={p} {ring(p, n, a, b) * 1e3:.2f}" for p in (2, 8, 64))
        for name, n, _ in models for link, a, b in LINKS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
