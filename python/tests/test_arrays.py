"""NumPy in and out without copies where the layout allows (docs/python.md, "Zero-copy")."""
import sys
import threading
import time

import numpy as np
import pytest

import backprop


def test_a_float32_c_contiguous_matrix_is_borrowed():
    X = np.ones((5, 3), dtype=np.float32)
    assert backprop._borrows(X)
    assert backprop._borrows(X[1:4])  # rows of a C matrix are still one C block


@pytest.mark.parametrize("make", [lambda X: X.astype(np.float64), lambda X: np.asfortranarray(X),
                                  lambda X: X[:, ::2], lambda X: X.astype(np.int32), lambda X: X.tolist()])
def test_any_other_layout_is_converted_once(make):
    X = np.arange(12, dtype=np.float32).reshape(4, 3)
    assert not backprop._borrows(make(X))


def test_outputs_own_the_tensors_buffer(separable):
    X, y = separable
    m = backprop.fit(X, y, hidden=[4], epochs=1)
    p = m.predict_proba(X)
    # No copy: the array's memory is the Tensor's, owned through a capsule.
    assert not p.flags.owndata and type(p.base).__name__ == "PyCapsule"
    assert p.flags.c_contiguous and p.flags.writeable
    q = m.predict_proba(X)
    assert not np.shares_memory(p, q) and not np.shares_memory(p, X)
    p[:] = 7  # the caller's to change: the next call is unaffected
    np.testing.assert_array_equal(m.predict_proba(X), q)
    # The capsule keeps the buffer alive after the model is gone.
    del m
    assert np.all(q >= 0) and np.all(q <= 1)


def test_every_layout_predicts_the_same(separable):
    X, y = separable
    m = backprop.fit(X, y, hidden=[4], epochs=1)
    ref = m.predict_proba(X)
    for other in (X.astype(np.float64), np.asfortranarray(X), X.tolist()):
        np.testing.assert_array_equal(m.predict_proba(other), ref)
    wide = np.zeros((200, 8), dtype=np.float32)
    wide[:, ::2] = X
    np.testing.assert_array_equal(m.predict_proba(wide[:, ::2]), ref)


def test_the_input_array_is_not_changed(separable):
    X, y = separable
    before = X.copy()
    m = backprop.fit(X, y, hidden=[4], epochs=2)
    m.predict_proba(X)
    np.testing.assert_array_equal(X, before)
    assert sys.getrefcount(X) < 10  # no reference kept beyond the call


def test_training_releases_the_gil():
    # While fits of at least 0.4 s each run in a thread, this thread keeps running: the longest
    # pause it sees stays far below one fit's length (with the GIL held it would be all of it).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 20)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)

    def fit_seconds(epochs):
        t0 = time.perf_counter()
        backprop.fit(X, y, hidden=[64], epochs=epochs, batch_size=32)
        return time.perf_counter() - t0

    epochs = 1
    while fit_seconds(epochs) < 0.4:
        epochs *= 2
    durations = []
    worker = threading.Thread(target=lambda: durations.extend(fit_seconds(epochs) for _ in range(2)))
    worker.start()
    last, longest = time.perf_counter(), 0.0
    while worker.is_alive():
        now = time.perf_counter()
        longest = max(longest, now - last)
        last = now
    worker.join()
    assert len(durations) == 2
    assert longest < 0.5 * min(durations), f"this thread stopped for {longest:.3f} s during fits of {durations}"
