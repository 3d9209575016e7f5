"""Shared fixtures of the Python module's tests (docs/python.md).

ctest runs them with PYTHONPATH=build/python, BACKPROP_CLI (the command) and BACKPROP_SOURCE_DIR
set (python/CMakeLists.txt); run by hand from the repository root they find both in ./build.
"""
import os
import pathlib
import subprocess

import numpy as np
import pytest

SOURCE = pathlib.Path(os.environ.get("BACKPROP_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
CLI = pathlib.Path(os.environ.get("BACKPROP_CLI", SOURCE / "build" / "backprop"))


@pytest.fixture(scope="session")
def data_dir():
    return SOURCE / "data"


@pytest.fixture(scope="session")
def cli():
    """Runs the command line; a failure shows its output."""
    if not CLI.exists():
        pytest.fail(f"the backprop command is not built: {CLI}")

    def run(*args, cwd=None):
        r = subprocess.run([str(CLI), *map(str, args)], cwd=cwd, capture_output=True, text=True)
        assert r.returncode == 0, f"backprop {' '.join(map(str, args))} failed:\n{r.stdout}\n{r.stderr}"
        return r

    return run


def read_csv(path):
    """A CSV of numbers and quoted words as (header, rows of strings)."""
    import csv
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


@pytest.fixture
def separable():
    """200 rows, 4 features; binary labels from a linear rule on the first two."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(200, 4)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)
    return X, y
