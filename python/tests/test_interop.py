"""The same model files as the command line, both ways: a model `backprop train` wrote
predicts here what `backprop predict` prints, and a model trained here predicts there."""
import numpy as np
import pytest

import backprop
from conftest import read_csv


def cli_probabilities(path, column):
    header, rows = read_csv(path)
    j = header.index(column)
    return np.array([float(r[j]) for r in rows])


def pima(data_dir):
    header, rows = read_csv(data_dir / "PimaIndiansDiabetes.csv")
    X = np.array([[float(v) for v in r[:-1]] for r in rows])  # float64: the values the CSV holds
    y = np.array([1 if r[-1] == "pos" else 0 for r in rows])
    return header[:-1], X, y


@pytest.mark.parametrize("model", [["--hidden", "8", "--epochs", "3"], ["--model", "random-forest", "--trees", "10"]])
def test_a_cli_trained_model_predicts_here_as_the_cli_does(tmp_path, cli, data_dir, model):
    csv = data_dir / "PimaIndiansDiabetes.csv"
    cli("train", "--data", csv, "--target", "diabetes", "-q", *model, "-o", tmp_path / "m.safetensors")
    cli("predict", "-m", tmp_path / "m.safetensors", "--data", csv, "-o", tmp_path / "p.csv")
    names, X, _ = pima(data_dir)
    m = backprop.load(str(tmp_path / "m.safetensors"))
    assert m.feature_names == names and m.class_names == ["neg", "pos"]
    # The CLI prints 6 significant digits; the standardisation is the model's own.
    np.testing.assert_allclose(m.predict_proba(X), cli_probabilities(tmp_path / "p.csv", "p_pos"), atol=2e-6)


def test_a_model_trained_here_predicts_in_the_cli(tmp_path, cli):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] - X[:, 2] > 0).astype(int)
    m = backprop.fit(X, y, hidden=[6], epochs=10, feature_names=["a", "b", "c"])
    m.save(str(tmp_path / "py.safetensors"))
    # The CSV the preprocessing names: the features' columns (any order) and the target "y".
    with open(tmp_path / "rows.csv", "w") as f:
        f.write("c,a,b,y\n")
        for row, label in zip(X, y):
            f.write(f"{row[2]!r},{row[0]!r},{row[1]!r},{label}\n")
    cli("predict", "-m", tmp_path / "py.safetensors", "--data", tmp_path / "rows.csv", "-o", tmp_path / "p.csv")
    np.testing.assert_allclose(cli_probabilities(tmp_path / "p.csv", "p_1"), m.predict_proba(X), atol=2e-6)
    # and `evaluate` scores it on a file, as any model
    r = cli("evaluate", "-m", tmp_path / "py.safetensors", "--data", tmp_path / "rows.csv", "--part", "all")
    assert "ROC" in r.stdout


def test_a_categorical_cli_model_takes_its_encoded_features(tmp_path, cli, data_dir):
    csv = data_dir / "Servo.csv"
    cli("train", "--data", csv, "--target", "Class", "-q", "--hidden", "4", "--epochs", "3",
        "-o", tmp_path / "s.safetensors")
    cli("predict", "-m", tmp_path / "s.safetensors", "--data", csv, "-o", tmp_path / "p.csv")
    m = backprop.load(str(tmp_path / "s.safetensors"))
    header, rows = read_csv(csv)
    raw = np.zeros((len(rows), 2), dtype=np.float32)
    with pytest.raises(ValueError, match='column "Motor" is categorical.*encoded=True'):
        m.predict_proba(raw) if m.task != "regression" else m.predict(raw)
    # The encoding by hand from the preprocessing the file holds (docs/data.md): an indicator
    # per category of a categorical column, (x - center) / scale for a numeric one.
    columns = m.info["preprocessing"]["columns"]
    encoded = []
    for r in rows:
        features = []
        for c in columns:
            v = r[header.index(c["name"])]
            if c["kind"] == "categorical":
                features += [1.0 if v == cat else 0.0 for cat in c["categories"]]
            else:
                features.append((float(v) - c["center"]) / c["scale"])
        encoded.append(features)
    encoded = np.array(encoded, dtype=np.float32)
    assert encoded.shape[1] == m.num_features
    out = m.predict(encoded, encoded=True) if m.task == "regression" else m.predict_proba(encoded, encoded=True)
    if out.ndim == 2:
        out = out[:, -1]
    column = "prediction" if m.task == "regression" else "p_" + m.class_names[-1]
    np.testing.assert_allclose(out, cli_probabilities(tmp_path / "p.csv", column), rtol=6e-6, atol=1e-6)  # 6 significant digits
