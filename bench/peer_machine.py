#!/usr/bin/python3
"""What a Python peer runs on, for the benchmark scripts' headers (beside `bench_* --info`).

Prints one line: PyTorch's version and the kernel level its dispatcher uses (PyTorch 1.13 runs
AVX2 kernels unless ATEN_CPU_CAPABILITY=avx512 is set, even on an AVX-512 processor), the BLAS
libraries loaded in the process and the kernel set each chose (threadpoolctl, as scikit-learn
reports it), and the environment variables that steer them.
Usage: /usr/bin/python3 bench/peer_machine.py [torch|sklearn]
"""
import os
import sys


def machine_line(kind):
    parts = []
    if kind == "torch":
        import torch
        cap = [line.split(":", 1)[1].strip() for line in torch.__config__.show().splitlines()
               if "CPU capability usage" in line]
        parts.append(f"PyTorch {torch.__version__}, kernels {cap[0] if cap else '?'}")
    else:
        import sklearn
        parts.append(f"scikit-learn {sklearn.__version__}")
    import numpy  # noqa: F401  (loads the BLAS that NumPy and scikit-learn use)
    try:
        from threadpoolctl import threadpool_info
        blas = [f"{d['internal_api']} {d.get('version') or ''} core {d.get('architecture') or '?'}"
                for d in threadpool_info() if d.get("user_api") == "blas"]
        parts.append("BLAS " + (", ".join(blas) if blas else "none loaded"))
    except ImportError:
        parts.append("BLAS unknown (no threadpoolctl)")
    env = [f"{k}={os.environ[k]}" for k in
           ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "ATEN_CPU_CAPABILITY", "OMP_NUM_THREADS")
           if k in os.environ]
    parts.append("(" + (" ".join(env) if env else "no OPENBLAS_*/ATEN_* set") + ")")
    return "; ".join(parts)


if __name__ == "__main__":
    print(machine_line(sys.argv[1] if len(sys.argv) > 1 else "torch"))
