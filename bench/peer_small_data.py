#!/usr/bin/env python3
"""`backprop train` with its defaults against a tuned scikit-learn linear model, on one split.

For each data set: a seeded split (80 % train, 20 % test; stratified by class for a class
target) is written as two CSV files made of the original lines, so both learners see exactly
the same rows. backprop trains on train.csv with no tuning option (`--test-fraction 0`) and
predicts test.csv (`backprop predict`); scikit-learn fits LogisticRegression (C chosen by
k-fold cross-validation on the training rows) or RidgeCV (alpha by leave-one-out) on the same
rows, encoded as backprop encodes them (numeric: mean-imputed, standardised; text: one 0/1
column per value). Both are scored here, on the same test rows, by the same code.

A test row holding a category that no training row has cannot be encoded by backprop (an
error by design); such rows are moved to the training part before anything is fitted, and
the table counts them ("moved").

Usage: peer_small_data.py BACKPROP [NAME ...]   (names: the DATASETS keys; default: all)
Prints one table (Markdown) on stdout.
"""
import csv
import gzip
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import GridSearchCV

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")
SEED = 1
TEST_FRACTION = 0.2
MISSING = {"", "NA"}  # what backprop's CSV reader takes as missing

# name: (file, target, ignored columns, task)
DATASETS = {
    "BreastCancer": ("BreastCancer.csv", "Class", ["Id"], "classification"),
    "Sonar": ("Sonar.csv", "Class", [], "classification"),
    "Ionosphere": ("Ionosphere.csv", "Class", [], "classification"),
    "PimaIndiansDiabetes": ("PimaIndiansDiabetes.csv", "diabetes", [], "classification"),
    "Servo": ("Servo.csv", "Class", [], "regression"),
    "Adult": ("Adult.csv.gz", "Salary", [], "classification"),
    "CalHousing": ("CalHousing.csv.gz", "medianHouseValue", [], "regression"),
    "LetterRecognition": ("LetterRecognition.csv.gz", "lettr", [], "classification"),
}


def read_lines(path):
    raw = open(path, "rb").read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    text = raw.decode("utf-8")
    lines = [l for l in text.splitlines() if l.strip() != ""]
    return lines


def parse(lines, skip_space):
    rows = list(csv.reader(io.StringIO("\n".join(lines)), skipinitialspace=skip_space))
    if len(rows) != len(lines):
        raise SystemExit("a record spans lines: this script splits by lines")
    return rows[0], rows[1:]


def split(y, classification, rng):
    n = len(y)
    if not classification:
        perm = rng.permutation(n)
        t = int(round(n * TEST_FRACTION))
        return sorted(perm[t:]), sorted(perm[:t])
    train, test = [], []
    for c in sorted(set(y)):
        idx = np.array([i for i in range(n) if y[i] == c])
        idx = idx[rng.permutation(len(idx))]
        t = int(round(len(idx) * TEST_FRACTION))
        test += list(idx[:t])
        train += list(idx[t:])
    return sorted(train), sorted(test)


def is_number(s):
    try:
        return np.isfinite(float(s))
    except ValueError:
        return False


def encode(header, rows, train, features):
    """backprop's encoding, fitted on the training rows."""
    cols = []
    for j in features:
        vals = [rows[i][j].strip() for i in train]
        present = [v for v in vals if v not in MISSING]
        if all(is_number(v) for v in present):
            x = np.array([float(r[j]) if r[j].strip() not in MISSING else np.nan for r in rows])
            mean = np.nanmean(x[train])
            x = np.where(np.isnan(x), mean, x)
            sd = x[train].std()
            cols.append(((x - mean) / (sd if sd > 0 else 1.0))[:, None])
        else:
            cats = sorted(set(present))
            cols.append(np.array([[1.0 if r[j].strip() == c else 0.0 for c in cats] for r in rows]))
    return np.hstack(cols)


def categorical_values(rows, idx, j):
    return {rows[i][j] for i in idx if rows[i][j].strip() not in MISSING}


def run(backprop, name, work):
    fname, target, ignore, task = DATASETS[name]
    classification = task == "classification"
    lines = read_lines(os.path.join(DATA, fname))
    skip_space = ", " in lines[0]  # UCI's Adult: ", " between fields
    header, rows = parse(lines, skip_space)
    header = [h.strip() for h in header]
    t = header.index(target)
    features = [j for j in range(len(header)) if j != t and header[j] not in ignore]
    y = [r[t].strip() for r in rows]
    rng = np.random.RandomState(SEED)
    train, test = split(y, classification, rng)
    # Test rows with a category no training row has move to the training part.
    moved = 0
    for j in features:
        vals = [rows[i][j].strip() for i in train]
        if all(is_number(v) for v in vals if v not in MISSING):
            continue
        known = categorical_values(rows, train, j)
        keep = [i for i in test if rows[i][j].strip() in MISSING or rows[i][j] in known]
        moved += len(test) - len(keep)
        train = sorted(train + [i for i in test if i not in set(keep)])
        test = keep

    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    for part, idx in (("train", train), ("test", test)):
        with open(os.path.join(d, part + ".csv"), "w") as f:
            f.write(lines[0] + "\n")
            for i in idx:
                f.write(lines[i + 1] + "\n")

    # backprop: defaults, no tuning option. The target's name as the reader sees it (a
    # reader that keeps the space after ", " sees " Salary").
    model, report = os.path.join(d, "m.safetensors"), os.path.join(d, "r.json")
    out = None
    for tname in dict.fromkeys([target, " " + target] if skip_space else [target]):
        cmd = [backprop, "train", "--data", os.path.join(d, "train.csv"), "--target", tname, "--test-fraction", "0",
               "-q", "-o", model, "--report", report]
        if ignore:
            cmd += ["--ignore", ",".join(ignore)]
        cmd += os.environ.get("BACKPROP_EXTRA", "").split()  # for experiments only: the table uses none
        t0 = time.time()
        out = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.time() - t0
        if out.returncode == 0:
            break
    if out.returncode != 0:
        return {"name": name, "error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    training = json.load(open(report))["training"]
    pred_path = os.path.join(d, "p.csv")
    p = subprocess.run([backprop, "predict", "-m", model, "--data", os.path.join(d, "test.csv"), "-o", pred_path],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return {"name": name, "error": p.stderr.strip()}
    with open(pred_path) as f:
        preds = list(csv.DictReader(f))
    yt = [y[i] for i in test]

    # scikit-learn on the same rows.
    X = encode(header, rows, train, features)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if classification:
            ours = np.mean([pr["prediction"].strip() == v for pr, v in zip(preds, yt)])
            grid = GridSearchCV(LogisticRegression(max_iter=3000), {"C": np.logspace(-3, 3, 7)},
                                cv=5 if len(train) < 5000 else 3, n_jobs=1)
            ylab = np.array(y)
            grid.fit(X[train], ylab[train])
            theirs = float(np.mean(grid.predict(X[test]) == ylab[test]))
            param = "C=%g" % grid.best_params_["C"]
        else:
            yv = np.array([float(v) for v in y])
            pv = np.array([float(pr["prediction"]) for pr in preds])
            def r2(a, b):
                return 1 - np.sum((a - b) ** 2) / np.sum((a - a.mean()) ** 2)
            ours = r2(yv[test], pv)
            m = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(X[train], yv[train])
            theirs = float(r2(yv[test], m.predict(X[test])))
            param = "alpha=%g" % m.alpha_
    return {"name": name, "rows": len(rows), "train": len(train), "test": len(test), "moved": moved,
            "metric": "accuracy" if classification else "R²", "ours": float(ours), "theirs": theirs, "param": param,
            "seconds": seconds, "epochs": training.get("epochs"), "epochs_run": training.get("epochs_run"),
            "best_epoch": training.get("best_epoch")}


def main():
    backprop = os.path.abspath(sys.argv[1])
    names = sys.argv[2:] or list(DATASETS)
    print("| data set | rows (train/test) | metric | backprop train | scikit-learn (tuned) | difference | backprop time | epochs run (kept) |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as work:
        for name in names:
            r = run(backprop, name, work)
            if "error" in r:
                print("| %s | | | error: %s | | | | |" % (name, r["error"]))
                continue
            scale = 100 if r["metric"] == "accuracy" else 1
            fmt = "%.2f %%" if scale == 100 else "%.3f"
            diff = (r["ours"] - r["theirs"]) * scale
            print("| %s | %d (%d/%d%s) | %s | %s | %s (%s) | %+.*f%s | %.1f s | %s of %s (%s) |" % (
                r["name"], r["rows"], r["train"], r["test"], ", %d moved" % r["moved"] if r["moved"] else "",
                r["metric"], fmt % (r["ours"] * scale), fmt % (r["theirs"] * scale), r["param"],
                2 if scale == 100 else 3, diff, " points" if scale == 100 else "", r["seconds"],
                r["epochs_run"], r["epochs"], r["best_epoch"]), flush=True)


if __name__ == "__main__":
    main()
