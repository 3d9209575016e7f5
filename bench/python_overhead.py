"""Benchmark (not a test): what calling the library from Python costs per call.

Times Model.predict_proba at batch 1 and batch 128, each call by itself, on one thread, and
runs bench/python_overhead_cpp (the same encoding and prediction called from C++) on the same
model file in the same run; prints medians (less each side's timing floor: its clock reads
around nothing), the difference (the Python side's overhead) and the ratio, wall and CPU time. scripts/bench_python.sh builds both and runs this.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_overhead.py --cpp build/python_overhead_cpp
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import backprop


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def time_calls(fn, calls):
    """Median wall and thread-CPU microseconds of fn() over `calls` calls after a warm-up tenth."""
    wall, cpu = [], []
    for c in range(calls + calls // 10):
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        fn()
        c1, t1 = time.thread_time_ns(), time.perf_counter_ns()
        if c >= calls // 10:
            wall.append((t1 - t0) / 1e3)
            cpu.append((c1 - c0) / 1e3)
    return statistics.median(wall), statistics.median(cpu)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cpp", required=True, help="the python_overhead_cpp binary")
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--features", type=int, default=105, help="inputs of the MLP (105: Adult's encoded width)")
    ap.add_argument("--hidden", default="128,64")
    args = ap.parse_args()

    backprop.set_num_threads(1)
    rng = np.random.default_rng(1)
    hidden = [int(h) for h in args.hidden.split(",")]
    # The weights do not matter for the time: one epoch on random rows.
    X = rng.normal(size=(256, args.features)).astype(np.float32)
    model = backprop.fit(X, (X[:, 0] > 0).astype(int), hidden=hidden, epochs=1, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.safetensors")
        model.save(path)
        m = backprop.load(path)
        print(f"# model: mlp {args.features}-{'-'.join(map(str, hidden))}-1 (binary), one thread; load before: {load()}")
        out = subprocess.run([args.cpp, path, "--batches", "1,128", "--calls", str(args.calls)],
                             capture_output=True, text=True, check=True).stdout
    cpp = {}
    for line in out.splitlines():
        r = re.match(r"RESULT batch=(\d+) wall_us=([\d.]+) cpu_us=([\d.]+)", line)
        if r:
            cpp[int(r.group(1))] = (float(r.group(2)), float(r.group(3)))  # 0: the timing's floor

    rows = []
    for batch in (1, 128):
        x32 = rng.normal(size=(batch, args.features)).astype(np.float32)
        py_wall, py_cpu = time_calls(lambda: m.predict_proba(x32), args.calls)
        rows.append((f"{batch} float32 (view)", cpp[batch], (py_wall, py_cpu)))
        if batch == 128:
            x64 = x32.astype(np.float64)
            rows.append((f"{batch} float64 (1 conversion)", cpp[batch],
                         time_calls(lambda: m.predict_proba(x64), args.calls)))

    # The timing's own cost on each side (clock reads; in Python also calling a lambda), taken
    # off both columns: what is left is the call itself.
    py_floor = time_calls(lambda: None, args.calls)
    cpp_floor = cpp.pop(0)
    print(f"{'batch / input':<26}{'C++ us':>9}{'Python us':>11}{'overhead us':>13}{'ratio':>7}"
          f"{'C++ cpu':>9}{'Py cpu':>8}{'cpu ratio':>11}")
    for name, (cw, cc), (pw, pc) in rows:
        cw, cc, pw, pc = cw - cpp_floor[0], cc - cpp_floor[1], pw - py_floor[0], pc - py_floor[1]
        print(f"{name:<26}{cw:>9.2f}{pw:>11.2f}{pw - cw:>13.2f}{pw / cw:>7.2f}{cc:>9.2f}{pc:>8.2f}{pc / cc:>11.2f}")
    print(f"# the timing's own cost, taken off: C++ {cpp_floor[0]:.2f} us wall / {cpp_floor[1]:.2f} us cpu, "
          f"Python {py_floor[0]:.2f} / {py_floor[1]:.2f}")
    print(f"# medians of {args.calls} calls each; load after: {load()} on {os.cpu_count()} cores; "
          f"python {sys.version.split()[0]}, numpy {np.__version__}")


if __name__ == "__main__":
    main()
