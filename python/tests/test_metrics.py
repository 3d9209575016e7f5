"""The eight metrics, the multi-class and regression ones, and the calibrators, checked against
scikit-learn on the same arrays (python3-sklearn), and LFT and BEP (which scikit-learn lacks)
against their definitions worked by hand."""
import math

import numpy as np
import pytest

import backprop

sk = pytest.importorskip("sklearn.metrics")


@pytest.fixture
def scored():
    """Continuous scores (no ties), both classes, imperfect ranking."""
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, size=400)
    p = 1 / (1 + np.exp(-(1.5 * (2 * y - 1) + rng.normal(scale=1.5, size=400))))
    return y, p


def test_the_eight_metrics_match_scikit_learn(scored):
    y, p = scored
    r = backprop.metrics(y, p)
    assert list(r) == ["ACC", "FSC", "LFT", "ROC", "APR", "BEP", "RMS", "MXE"]
    assert r["ACC"] == pytest.approx(sk.accuracy_score(y, p >= 0.5), abs=1e-12)
    assert r["FSC"] == pytest.approx(sk.f1_score(y, p >= 0.5), abs=1e-12)
    assert r["ROC"] == pytest.approx(sk.roc_auc_score(y, p), abs=1e-12)
    assert r["APR"] == pytest.approx(sk.average_precision_score(y, p), abs=1e-12)  # equal without ties
    assert r["RMS"] == pytest.approx(math.sqrt(sk.mean_squared_error(y, p)), abs=1e-12)
    assert r["MXE"] == pytest.approx(sk.log_loss(y, p) / math.log(2), abs=1e-9)  # bits, not nats


def test_lift_and_break_even_by_hand(scored):
    y, p = scored
    order = np.argsort(-p)
    n, npos = len(y), int(y.sum())
    top = int(math.floor(0.25 * n))
    lift = (y[order[:top]].sum() / npos) / (top / n)
    bep = y[order[:npos]].sum() / npos
    r = backprop.metrics(y, p)
    assert r["LFT"] == pytest.approx(lift, abs=1e-12)
    assert r["BEP"] == pytest.approx(bep, abs=1e-12)


def test_threshold_and_lift_fraction_are_options(scored):
    y, p = scored
    r = backprop.metrics(y, p, threshold=0.7, lift_fraction=0.1)
    assert r["ACC"] == pytest.approx(sk.accuracy_score(y, p >= 0.7), abs=1e-12)
    top = np.argsort(-p)[:40]
    assert r["LFT"] == pytest.approx((y[top].sum() / y.sum()) / 0.1, abs=1e-12)


def test_a_tiny_case_worked_by_hand():
    # p: 0.9 0.8 0.3 0.1 with labels 1 0 1 0: at 0.5, TP 1 FP 1 FN 1 TN 1.
    r = backprop.metrics([1, 0, 1, 0], np.array([0.9, 0.8, 0.3, 0.1]))
    assert r["ACC"] == 0.5 and r["FSC"] == 0.5
    assert r["ROC"] == 0.75  # 3 of the 4 (positive, negative) pairs in order
    assert r["BEP"] == 0.5  # one positive among the top two
    assert r["LFT"] == 2.0  # the top case (1 of 4) is positive: (1/2) / (1/4)
    assert r["RMS"] == pytest.approx(math.sqrt((0.01 + 0.64 + 0.49 + 0.01) / 4))


def test_multiclass_metrics_match_scikit_learn():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 4, size=300)
    logits = rng.normal(size=(300, 4)) + 2 * np.eye(4)[y]
    # The library's matrices are float32: scikit-learn gets the same float32 values.
    P = (np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)).astype(np.float32).astype(np.float64)
    r = backprop.multiclass_metrics(y, P)
    assert r["accuracy"] == pytest.approx(sk.accuracy_score(y, P.argmax(1)), abs=1e-12)
    assert r["log_loss"] == pytest.approx(sk.log_loss(y, P), abs=1e-12)
    assert r["macro_f1"] == pytest.approx(sk.f1_score(y, P.argmax(1), average="macro"), abs=1e-12)
    ovr = [sk.roc_auc_score(y == c, P[:, c]) for c in range(4)]
    np.testing.assert_allclose(r["roc_auc_ovr"], ovr, atol=1e-12)
    np.testing.assert_array_equal(np.array(r["confusion_matrix"]), sk.confusion_matrix(y, P.argmax(1)))


def test_regression_metrics_match_scikit_learn():
    rng = np.random.default_rng(6)
    y = rng.normal(size=50)
    yhat = y + rng.normal(scale=0.3, size=50)
    r = backprop.regression_metrics(y, yhat)
    assert r["rmse"] == pytest.approx(math.sqrt(sk.mean_squared_error(y, yhat)), abs=1e-12)
    assert r["mae"] == pytest.approx(sk.mean_absolute_error(y, yhat), abs=1e-12)
    assert r["r2"] == pytest.approx(sk.r2_score(y, yhat), abs=1e-12)


def test_isotonic_matches_scikit_learn(scored):
    from sklearn.isotonic import IsotonicRegression
    y, p = scored
    ref = IsotonicRegression(out_of_bounds="clip").fit(p, y)
    c = backprop.isotonic(p, y)
    grid = np.linspace(-0.1, 1.1, 97)
    np.testing.assert_allclose(c.predict(grid), ref.predict(grid), atol=1e-12)
    np.testing.assert_allclose(c.xs, ref.X_thresholds_, atol=1e-12)
    np.testing.assert_allclose(c.ys, ref.y_thresholds_, atol=1e-12)
    assert backprop.Isotonic().fit(p, y).predict(grid).tolist() == c.predict(grid).tolist()
    step = backprop.isotonic(p, y, mode="step")
    assert step.to_json()["prediction"] == "step"


def test_platt_minimises_the_smoothed_cross_entropy(scored):
    # Platt's objective with his smoothed targets, minimised by SciPy: the same A and B.
    from scipy.optimize import minimize
    y, p = scored
    f = np.log(p / (1 - p))
    npos, nneg = y.sum(), len(y) - y.sum()
    t = np.where(y == 1, (npos + 1) / (npos + 2), 1 / (nneg + 2))

    def loss(ab):
        z = ab[0] * f + ab[1]  # P = 1 / (1 + exp(z))
        return np.sum(t * np.logaddexp(0, z) + (1 - t) * np.logaddexp(0, -z))

    ref = minimize(loss, [0.0, 0.0], method="BFGS", options={"gtol": 1e-10}).x
    c = backprop.platt(f, y)
    assert c.a == pytest.approx(ref[0], abs=1e-4) and c.b == pytest.approx(ref[1], abs=1e-4)
    np.testing.assert_allclose(c.predict(f), 1 / (1 + np.exp(c.a * f + c.b)), atol=1e-12)
    assert backprop.Platt().fit(f, y).a == c.a
