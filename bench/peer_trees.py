#!/usr/bin/python3
"""scikit-learn / XGBoost peer of bench/bench_trees.cpp, and the data preparation both share.

    peer_trees.py prepare ADULT_CSV OUT [--train 5000] [--seed 0]
        Adult (UCI adult.data with a header line) one-hot coded: the 6 numeric columns as they
        are, each of the 8 categorical ones as one 0/1 column per category seen in the training
        rows ('?' is a category of its own; a category not seen in training codes as all zeros).
        Rows shuffled with the seed; the first --train rows train (0 = all rows train, and the
        same rows are scored), the rest are scored. Written as one binary file that both sides read:
        int64 n_train, n_test, d; float32 X_train (n_train, d); int32 y_train; float32 X_test;
        int32 y_test (little-endian, row-major).
    peer_trees.py run FILE LEARNER THREADS
        Fits and scores one learner, prints one line "RESULT {json}" with fit_s, score_s (wall),
        fit_cpu_s, score_cpu_s (this process's CPU time; joblib's worker processes not counted), auc,
        accuracy and peak_rss_mb (this process's ru_maxrss, data and interpreter included).

Learners (the study's protocol; the same configurations as bench_trees.cpp):
    random-forest   RandomForestClassifier(1024 trees, max_features=8)
    bagged-trees    BaggingClassifier(DecisionTreeClassifier(), 100 trees)
    boosted-stumps  AdaBoostClassifier(stumps, 1024 steps, SAMME)
    boosted-trees   AdaBoostClassifier(depth-6 trees, 128 steps, SAMME)
    xgboost         XGBClassifier(300 trees, depth 6, hist)
"""
import csv, gzip, json, resource, sys, time
import numpy as np

NUMERIC = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]


def prepare(src, out, train=5000, seed=0):
    # plain or gzip (the repository ships data/Adult.csv.gz)
    with (gzip.open(src, "rt") if src.endswith(".gz") else open(src)) as f:
        rows = [r for r in csv.reader(f, skipinitialspace=True) if r]
    head, body = rows[0], rows[1:]
    target = head.index("Salary")
    rng = np.random.RandomState(seed)
    body = [body[i] for i in rng.permutation(len(body))]
    tr = body[:train] if train > 0 else body
    te = body[train:] if train > 0 else body
    cols = []  # (index, category or None)
    for j, h in enumerate(head):
        if j == target:
            continue
        if h in NUMERIC:
            cols.append((j, None))
        else:
            for c in sorted({r[j] for r in tr}):
                cols.append((j, c))

    def code(part):
        X = np.zeros((len(part), len(cols)), dtype=np.float32)
        for i, r in enumerate(part):
            for k, (j, c) in enumerate(cols):
                X[i, k] = float(r[j]) if c is None else float(r[j] == c)
        y = np.array([1 if r[target].startswith(">50K") else 0 for r in part], dtype=np.int32)
        return X, y

    Xtr, ytr = code(tr)
    Xte, yte = code(te)
    with open(out, "wb") as f:
        np.array([len(ytr), len(yte), len(cols)], dtype="<i8").tofile(f)
        Xtr.astype("<f4").tofile(f)
        ytr.astype("<i4").tofile(f)
        Xte.astype("<f4").tofile(f)
        yte.astype("<i4").tofile(f)
    print(f"# prepared {out}: {len(ytr)} train rows, {len(yte)} scored, {len(cols)} features")


def load(path):
    with open(path, "rb") as f:
        ntr, nte, d = np.fromfile(f, dtype="<i8", count=3)
        Xtr = np.fromfile(f, dtype="<f4", count=ntr * d).reshape(ntr, d)
        ytr = np.fromfile(f, dtype="<i4", count=ntr)
        Xte = np.fromfile(f, dtype="<f4", count=nte * d).reshape(nte, d)
        yte = np.fromfile(f, dtype="<i4", count=nte)
    return Xtr, ytr, Xte, yte


def make(learner, threads):
    from sklearn.ensemble import AdaBoostClassifier, BaggingClassifier, RandomForestClassifier
    from sklearn.tree import DecisionTreeClassifier
    if learner == "random-forest":
        return RandomForestClassifier(n_estimators=1024, max_features=8, n_jobs=threads, random_state=0)
    if learner == "bagged-trees":
        return BaggingClassifier(DecisionTreeClassifier(), n_estimators=100, n_jobs=threads, random_state=0)
    if learner == "boosted-stumps":
        return AdaBoostClassifier(DecisionTreeClassifier(max_depth=1), n_estimators=1024, algorithm="SAMME", random_state=0)
    if learner == "boosted-trees":
        return AdaBoostClassifier(DecisionTreeClassifier(max_depth=6), n_estimators=128, algorithm="SAMME", random_state=0)
    if learner == "xgboost":
        import xgboost
        return xgboost.XGBClassifier(n_estimators=300, max_depth=6, tree_method="hist", n_jobs=threads, random_state=0)
    sys.exit(f"peer_trees.py: unknown learner {learner}")


def run(path, learner, threads):
    from sklearn.metrics import roc_auc_score
    Xtr, ytr, Xte, yte = load(path)
    m = make(learner, threads)
    t0, c0 = time.perf_counter(), time.process_time()
    m.fit(Xtr, ytr)
    t1, c1 = time.perf_counter(), time.process_time()
    p = m.predict_proba(Xte)[:, 1]
    t2, c2 = time.perf_counter(), time.process_time()
    res = {"learner": learner, "threads": threads, "fit_s": t1 - t0, "score_s": t2 - t1,
           "fit_cpu_s": c1 - c0, "score_cpu_s": c2 - c1,
           "auc": float(roc_auc_score(yte, p)), "accuracy": float(np.mean((p > 0.5) == (yte == 1))),
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}
    print("RESULT " + json.dumps(res))


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) >= 3 and a[0] == "prepare":
        kw = {}
        if "--train" in a:
            kw["train"] = int(a[a.index("--train") + 1])
        if "--seed" in a:
            kw["seed"] = int(a[a.index("--seed") + 1])
        prepare(a[1], a[2], **kw)
    elif len(a) == 4 and a[0] == "run":
        run(a[1], a[2], int(a[3]))
    else:
        sys.exit(__doc__)
