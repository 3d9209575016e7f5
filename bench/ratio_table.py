#!/usr/bin/python3
"""The summary of an ours-vs-PyTorch benchmark run (scripts/bench.sh, scripts/bench_lstm.sh).

    ratio_table.py OURS PEER TRAIN_KEY TRAIN_UNIT LATENCY_KEY LATENCY_NAME TRAIN_GOAL LATENCY_GOAL

OURS and PEER hold the lines "RESULT <key>_t<threads> <value>" of every repeat; the medians over
the repeats are compared per thread count and at each side's best thread count: throughput
(TRAIN_KEY, higher is better) as ours / PyTorch, latency in µs (LATENCY_KEY, lower is better)
as PyTorch / ours.
"""
import statistics
import sys


def load(path):
    r = {}
    for line in open(path):
        if line.startswith("RESULT "):
            _, key, val = line.split()
            r.setdefault(key, []).append(float(val))
    return {k: statistics.median(v) for k, v in r.items()}


def main():
    ours_path, peer_path, tkey, tunit, lkey, lname, tgoal, lgoal = sys.argv[1:9]
    ours, peer = load(ours_path), load(peer_path)
    threads = sorted(int(k.split("_t")[1]) for k in ours if k.startswith(tkey + "_t"))
    print()
    print(f"{'threads':>8} {'ours ' + tunit:>15} {'PyTorch':>10} {'ratio':>7}   {'ours us (' + lname + ')':>24} {'PyTorch':>9} {'ratio':>7}")
    for t in threads:
        a, b = ours[f"{tkey}_t{t}"], peer[f"{tkey}_t{t}"]
        c, d = ours[f"{lkey}_t{t}"], peer[f"{lkey}_t{t}"]
        print(f"{t:>8} {a:>15.0f} {b:>10.0f} {a / b:>6.2f}x   {c:>24.2f} {d:>9.2f} {d / c:>6.2f}x")
    best = lambda r, key, pick: pick((r[f"{key}_t{t}"], t) for t in threads)
    (ot, otn), (pt, ptn) = best(ours, tkey, max), best(peer, tkey, max)
    (oi, oin), (pi, pin) = best(ours, lkey, min), best(peer, lkey, min)
    print(f"\ntraining, best thread count each: ours {ot:.0f} {tunit} ({otn} threads) / PyTorch {pt:.0f} ({ptn} threads)"
          f" = {ot / pt:.2f}x   (goal >= {tgoal}x)")
    print(f"{lname}, best each: PyTorch {pi:.2f} us ({pin} threads) / ours {oi:.2f} us ({oin} threads)"
          f" = {pi / oi:.2f}x   (goal >= {lgoal}x)")


if __name__ == "__main__":
    main()
