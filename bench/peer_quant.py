#!/usr/bin/python3
"""PyTorch peer of bench/bench_quant.cpp: batch-1 inference latency of the MLP 784-256-128-10
(ReLU) in float32 eager mode under torch.no_grad(), and, for reference, PyTorch's own dynamic
int8 quantization of the same network (torch.ao.quantization.quantize_dynamic: int8 weights,
activations quantized on the fly), at one thread.

Timing as bench_mlp's peer: 200 warm-up calls, then 10 chunks of calls; the median chunk's
microseconds per call, wall-clock and process CPU time. Prints one "RESULT <key> <value>" line per measurement.
Run with Debian's python3-torch: /usr/bin/python3 bench/peer_quant.py [--calls 4000]
"""
import argparse
import statistics
import time

import torch


def time_calls(model, x1, calls):
    with torch.no_grad():
        for _ in range(200):
            model(x1)
        wall, cpu = [], []
        chunk = calls // 10
        for _ in range(10):
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(chunk):
                model(x1)
            cpu.append((time.process_time() - c0) * 1e6 / chunk)
            wall.append((time.perf_counter() - t0) * 1e6 / chunk)
    return statistics.median(wall), statistics.median(cpu)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=4000)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(42)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 10)).eval()
    x1 = torch.rand(1, 784, generator=torch.Generator().manual_seed(2024))
    f32, f32c = time_calls(model, x1, args.calls)
    print(f"# PyTorch {torch.__version__} peer_quant: MLP 784-256-128-10 batch 1, 1 thread")
    print(f"# pytorch float32 eager: {f32:.2f} us (cpu {f32c:.2f})")
    print(f"RESULT torch_f32_us {f32:.3f}")
    print(f"RESULT torch_f32_cpu_us {f32c:.3f}")
    try:
        qmodel = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        q8, q8c = time_calls(qmodel, x1, args.calls)
        print(f"# pytorch dynamic int8 ({torch.backends.quantized.engine}): {q8:.2f} us (cpu {q8c:.2f})")
        print(f"RESULT torch_dynint8_us {q8:.3f}")
        print(f"RESULT torch_dynint8_cpu_us {q8c:.3f}")
    except Exception as e:  # a build without a quantized engine
        print(f"# pytorch dynamic int8 unavailable: {e}")


if __name__ == "__main__":
    main()
