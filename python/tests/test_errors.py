"""Bad input raises ValueError with the library's message; never a crash or a wrong number."""
import numpy as np
import pytest

import backprop


@pytest.fixture
def model(separable):
    X, y = separable
    return backprop.fit(X, y, hidden=[4], epochs=1)


def test_wrong_shapes(separable, model):
    X, y = separable
    with pytest.raises(ValueError, match=r"X must be a 2-D array.*X.reshape\(1, -1\)"):
        model.predict_proba(X[0])
    with pytest.raises(ValueError, match=r"X has 3 columns and this model takes 4 \(x0, x1, x2, x3\)"):
        model.predict_proba(X[:, :3])
    with pytest.raises(ValueError, match="y has 199 values and X 200 rows"):
        backprop.fit(X, y[:-1])
    with pytest.raises(ValueError, match="X must be a 2-D array"):
        backprop.fit(X[:, :, None], y)
    with pytest.raises(ValueError, match="X has no rows"):
        backprop.fit(X[:0], y[:0])


def test_nan_and_infinity(separable, model):
    X, y = separable
    bad = X.copy()
    bad[5, 2] = np.nan
    with pytest.raises(ValueError, match="X holds NaN at row 5, column 2"):
        backprop.fit(bad, y)
    with pytest.raises(ValueError, match="X holds NaN at row 5, column 2"):
        model.predict_proba(bad)
    bad[5, 2] = np.inf
    with pytest.raises(ValueError, match="X holds an infinite value at row 5, column 2"):
        model.predict(bad)
    yy = y.astype(float)
    yy[9] = np.nan
    with pytest.raises(ValueError, match="y holds NaN at row 9"):
        backprop.fit(X, yy, task="regression")
    with pytest.raises(ValueError, match="NaN"):
        backprop.metrics([0, 1, 1], [0.1, np.nan, 0.5])


def test_unknown_options_and_names(separable):
    X, y = separable
    with pytest.raises(ValueError, match="unknown option bogus for the network 'mlp'"):
        backprop.fit(X, y, bogus=1)
    with pytest.raises(ValueError, match="random-forest: unknown option 'bogus'"):
        backprop.fit(X, y, model="random-forest", bogus=1)
    with pytest.raises(ValueError, match="nosuchmodel"):
        backprop.fit(X, y, model="nosuchmodel")
    with pytest.raises(ValueError, match="task: "):
        backprop.fit(X, y, task="clustering")
    with pytest.raises(ValueError, match="optimizer|adam"):
        backprop.fit(X, y, optimizer="nosuch", epochs=1)
    with pytest.raises(ValueError, match="option lr: cannot take 'fast'"):
        backprop.fit(X, y, lr="fast")
    with pytest.raises(ValueError, match="mode 'wiggly'"):
        backprop.isotonic([0.1, 0.9], [0, 1], mode="wiggly")


def test_bad_labels(separable):
    X, y = separable
    with pytest.raises(ValueError, match="task binary takes the labels 0 and 1"):
        backprop.fit(X, np.arange(200) % 3, task="binary")
    with pytest.raises(ValueError, match=r"y\[0\] = 0.5.*class labels are the integers"):
        backprop.fit(X, np.full(200, 0.5), task="multiclass")
    with pytest.raises(ValueError, match="one class only"):
        backprop.fit(X, np.zeros(200), task="multiclass")
    with pytest.raises(ValueError, match="regression"):
        backprop.fit(X, X[:, 0], model="random-forest", task="regression")
    with pytest.raises(ValueError, match="label"):
        backprop.metrics([0, 2, 1, 0], [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="not fitted"):
        backprop.Platt().predict([0.5])


def test_model_files(tmp_path, model):
    with pytest.raises(FileNotFoundError, match="no such model file"):
        backprop.load(str(tmp_path / "none.safetensors"))
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"this is not a model file at all")
    with pytest.raises(ValueError, match="junk.safetensors"):
        backprop.load(str(junk))
    with pytest.raises(OSError, match="cannot write"):
        model.save(str(tmp_path / "no" / "such" / "dir" / "m.safetensors"))


def test_divergence_is_its_own_error(separable):
    X, y = separable
    assert issubclass(backprop.DivergenceError, RuntimeError)
    with pytest.raises(backprop.DivergenceError):
        backprop.fit(X * 1e30, y, optimizer="sgd", lr=1e30, hidden=[8], epochs=3)
