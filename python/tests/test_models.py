"""fit, predict, save and load: networks and tree learners, every task."""
import numpy as np
import pytest

import backprop


def test_binary_mlp_learns_a_linear_rule(separable):
    X, y = separable
    m = backprop.fit(X, y, model="mlp", hidden=[16], task="binary", epochs=40, lr=0.01, seed=3)
    assert m.task == "binary" and m.kind == "mlp"
    assert m.class_names == ["0", "1"] and m.feature_names == ["x0", "x1", "x2", "x3"]
    p = m.predict_proba(X)
    assert p.shape == (200,) and p.dtype == np.float32
    assert np.all((p >= 0) & (p <= 1))
    labels = m.predict(X)
    assert labels.dtype == np.int64 and set(np.unique(labels)) <= {0, 1}
    np.testing.assert_array_equal(labels, (p >= 0.5).astype(np.int64))
    assert np.mean(labels == y) > 0.95


def test_multiclass_probabilities_sum_to_one():
    rng = np.random.default_rng(1)
    centers = np.array([[0, 0], [4, 0], [0, 4]], dtype=np.float32)
    y = rng.integers(0, 3, size=300)
    X = centers[y] + rng.normal(scale=0.7, size=(300, 2)).astype(np.float32)
    m = backprop.fit(X, y, hidden=[16], epochs=30, lr=0.01, class_names=["a", "b", "c"])
    assert m.task == "multiclass" and m.class_names == ["a", "b", "c"]
    P = m.predict_proba(X)
    assert P.shape == (300, 3)
    np.testing.assert_allclose(P.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_array_equal(m.predict(X), P.argmax(axis=1))
    assert np.mean(m.predict(X) == y) > 0.95


def test_regression_predicts_in_the_targets_units():
    rng = np.random.default_rng(2)
    X = rng.uniform(-1, 1, size=(400, 2)).astype(np.float32)
    t = 100 + 30 * X[:, 0] - 10 * X[:, 1]  # far from standardised: the library scales and unscales
    m = backprop.fit(X, t, task="regression", hidden=[], epochs=60, lr=0.05, batch_size=16)
    assert m.task == "regression"
    pred = m.predict(X)
    assert pred.shape == (400,) and pred.dtype == np.float32
    assert np.sqrt(np.mean((pred - t) ** 2)) < 1.0
    with pytest.raises(ValueError, match="regression model has no class probabilities"):
        m.predict_proba(X)


def test_task_is_inferred_from_the_labels(separable):
    X, y = separable
    assert backprop.fit(X, y, epochs=1).task == "binary"
    assert backprop.fit(X, np.arange(200) % 3, epochs=1).task == "multiclass"
    assert backprop.fit(X, X[:, 0] * 1.5, epochs=1).task == "regression"


def test_same_seed_same_model_and_another_seed_another(separable):
    X, y = separable
    a = backprop.fit(X, y, hidden=[8], epochs=3, seed=5).predict_proba(X)
    b = backprop.fit(X, y, hidden=[8], epochs=3, seed=5).predict_proba(X)
    c = backprop.fit(X, y, hidden=[8], epochs=3, seed=6).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("kind,options", [("random-forest", {"trees": 30}), ("tree", {"max_depth": 4}),
                                          ("boosted-stumps", {"steps": 20})])
def test_tree_learners_take_their_options_as_keywords(separable, kind, options):
    X, y = separable
    m = backprop.fit(X, y, model=kind, **options)
    assert m.kind == kind
    for key, value in options.items():
        assert m.info["extra"]["training"]["options"][key] == value
    p = m.predict_proba(X)
    assert p.shape == (200,)
    assert np.mean((p >= 0.5) == y) > 0.9


def test_tree_learner_multiclass():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(150, 3)).astype(np.float32)
    y = np.digitize(X[:, 0], [-0.5, 0.5])
    m = backprop.fit(X, y, model="random-forest", trees=20)
    P = m.predict_proba(X)
    assert P.shape == (150, 3)
    np.testing.assert_allclose(P.sum(axis=1), 1, atol=1e-5)


@pytest.mark.parametrize("kind,options", [("mlp", {"hidden": [8], "epochs": 5}),
                                          ("random-forest", {"trees": 10})])
def test_save_and_load_give_the_same_predictions(tmp_path, separable, kind, options):
    X, y = separable
    m = backprop.fit(X, y, model=kind, **options)
    path = tmp_path / "m.safetensors"
    m.save(str(path))
    back = backprop.load(str(path))
    assert back.kind == kind and back.task == m.task and back.class_names == m.class_names
    assert back.feature_names == m.feature_names
    np.testing.assert_array_equal(back.predict_proba(X), m.predict_proba(X))
    assert back.info["format_version"] >= 2


def test_regression_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(100, 2)).astype(np.float32)
    m = backprop.fit(X, 5 + X[:, 0], task="regression", hidden=[4], epochs=5)
    m.save(str(tmp_path / "r.safetensors"))
    np.testing.assert_array_equal(backprop.load(str(tmp_path / "r.safetensors")).predict(X), m.predict(X))


def test_model_names_and_learner_options():
    names = backprop.model_names()
    assert "mlp" in names and "random-forest" in names
    assert backprop.learner_options("random-forest")["trees"] > 0
