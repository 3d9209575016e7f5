#!/usr/bin/python3
"""scikit-learn peer of bench/bench_learners.cpp (scripts/bench_learners.sh).

    peer_learners.py FILE LEARNER THREADS

FILE is bench/peer_trees.py's prepared Adult matrix; its numeric columns are standardized with
the training rows' mean and s.d., the one-hot ones left 0/1 (outside the timings, as
bench_learners.cpp does). Prints one line
"RESULT {json}" with fit_s, score_s (wall), fit_cpu_s, score_cpu_s (this process's CPU time),
auc and peak_rss_mb. Learners, the same configurations as bench_learners.cpp:
    svm          SVC(kernel='rbf', C=1, gamma='auto' = 1/d), scored by decision_function
    knn          KNeighborsClassifier(25, algorithm='brute'), P(class 1)
    naive-bayes  GaussianNB(), the log-odds log P(1|x) − log P(0|x)
"""
import json, os, resource, sys, time
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_trees import load  # noqa: E402


def main():
    from sklearn.metrics import roc_auc_score
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import SVC
    path, learner, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    Xtr, ytr, Xte, yte = load(path)
    mu, sd = Xtr.astype(np.float64).mean(0), Xtr.astype(np.float64).std(0)
    sd[sd == 0] = 1
    onehot = np.all((Xtr == 0) | (Xtr == 1), axis=0)  # left 0/1, as the pipeline leaves them
    mu[onehot], sd[onehot] = 0, 1
    Xtr = ((Xtr - mu) / sd).astype(np.float32)
    Xte = ((Xte - mu) / sd).astype(np.float32)
    if learner == "svm":
        m = SVC(kernel="rbf", C=1.0, gamma="auto")
    elif learner == "knn":
        m = KNeighborsClassifier(25, algorithm="brute", n_jobs=threads)
    elif learner == "naive-bayes":
        m = GaussianNB()
    else:
        sys.exit(f"peer_learners.py: unknown learner {learner}")
    t0, c0 = time.perf_counter(), time.process_time()
    m.fit(Xtr, ytr)
    t1, c1 = time.perf_counter(), time.process_time()
    if learner == "svm":
        s = m.decision_function(Xte)
    elif learner == "naive-bayes":  # the log-odds: the ranking of our decision_function (no float saturation)
        lp = m.predict_log_proba(Xte)
        s = lp[:, 1] - lp[:, 0]
    else:
        s = m.predict_proba(Xte)[:, 1]
    t2, c2 = time.perf_counter(), time.process_time()
    print("RESULT " + json.dumps({"learner": learner, "threads": threads, "fit_s": t1 - t0, "score_s": t2 - t1,
                                  "fit_cpu_s": c1 - c0, "score_cpu_s": c2 - c1, "auc": float(roc_auc_score(yte, s)),
                                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))


if __name__ == "__main__":
    main()
