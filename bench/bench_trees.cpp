// Our side of scripts/bench_trees.sh: fits and scores one tree learner on the prepared Adult
// matrix that bench/peer_trees.py writes (the study's protocol: 5000 training rows, one-hot
// coded, the rest scored) and prints one line "RESULT {json}" with fit_s, score_s (wall),
// fit_cpu_s, score_cpu_s (process CPU time: steadier than wall time on a loaded machine), auc,
// accuracy and peak_rss_mb (ru_maxrss of this process, data included).
//
//   bench_trees FILE LEARNER THREADS [OPTIONS_JSON]
//
// LEARNER is a make_learner kind; the default options per learner are the study's sizes
// (random-forest 1024 trees, 8 features per split; bagged-trees 100; boosted-stumps 1024 steps;
// boosted-trees 128 steps of depth 6; xgboost 300 trees of depth 6, hist); OPTIONS_JSON
// (e.g. '{"max_bins": 255}') is merged over them.
#include <sys/resource.h>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <vector>

#include "backprop/eval/metrics.hpp"
#include "backprop/learners/learner.hpp"
#include "learner_bench.hpp"

using namespace bp;
using nlohmann::json;

namespace {
using bench::cpu;
using bench::now;

json study_options(const std::string& l) {
  if (l == "random-forest") return {{"trees", 1024}, {"max_features", 8}};
  if (l == "bagged-trees") return {{"trees", 100}};
  if (l == "boosted-stumps") return {{"steps", 1024}};
  if (l == "boosted-trees") return {{"steps", 128}, {"max_depth", 6}};
  if (l == "xgboost") return {{"trees", 300}, {"max_depth", 6}, {"tree_method", "hist"}};
  return json::object();
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: bench_trees FILE LEARNER THREADS [OPTIONS_JSON]\n";
    return 2;
  }
  try {
    bench::Prepared data = bench::read_prepared(argv[1]);
    const int64_t ntr = data.ntr, nte = data.nte, d = data.d;
    std::vector<float>& Xtr = data.Xtr;
    const std::vector<float>& Xte = data.Xte;
    const std::vector<int32_t>& ytr = data.ytr;
    const std::vector<int32_t>& yte = data.yte;
    const std::string learner = argv[2];
    const int threads = std::atoi(argv[3]);
    json o = study_options(learner);
    if (argc > 4) {
      const json extra = json::parse(argv[4]);
      for (const auto& [k, v] : extra.items()) o[k] = v;
    }
    o["threads"] = threads;
    auto m = learners::make_learner(learner, o);
    learners::TrainSet t;
    t.X = {Xtr.data(), ntr, d};
    t.y = ytr.data();
    t.n_classes = 2;
    const double t0 = now(), c0 = cpu();
    m->fit(t);
    const double t1 = now(), c1 = cpu();
    const Tensor p = m->predict_proba({Xte.data(), nte, d});
    const double t2 = now(), c2 = cpu();
    std::vector<double> score(nte);
    std::vector<int> lab(yte.begin(), yte.end());
    double right = 0;
    for (int64_t i = 0; i < nte; ++i) {
      score[i] = p[i * 2 + 1];
      right += (score[i] > 0.5) == (yte[i] == 1);
    }
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    json r = {{"learner", learner}, {"threads", threads}, {"fit_s", t1 - t0}, {"score_s", t2 - t1},
              {"fit_cpu_s", c1 - c0}, {"score_cpu_s", c2 - c1},
              {"auc", eval::roc_auc(score, lab)}, {"accuracy", right / nte}, {"peak_rss_mb", ru.ru_maxrss / 1024.0},
              {"options", o}, {"summary", m->summary()}};
    std::cout << "RESULT " << r.dump() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "backprop: error: " << e.what() << "\n";
    return 1;
  }
}
