// Our side of scripts/bench_learners.sh: fits and scores svm, knn or naive-bayes on the prepared
// Adult matrix that bench/peer_trees.py writes (5000 training rows, one-hot coded, the rest
// scored), the numeric columns standardized first with the training rows' mean and s.d. and
// the one-hot ones left 0/1, as the pipeline's preprocessing does (outside the timings, as
// bench/peer_learners.py does), and prints "RESULT {json}" with fit_s, score_s
// (wall), fit_cpu_s, score_cpu_s (process CPU time), auc (of Learner::decision_function: the SVM's
// decision value, naive Bayes' compressed log-odds, k-NN's P(class 1)) and peak_rss_mb.
//
//   bench_learners FILE LEARNER THREADS [OPTIONS_JSON]
//
// Default options: svm rbf C 1 γ 1/d; knn k 25 uniform; naive-bayes gaussian.
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <iostream>
#include <vector>

#include "backprop/backend/backend.hpp"
#include "learner_bench.hpp"
#include "backprop/eval/metrics.hpp"
#include "backprop/learners/learner.hpp"

using namespace bp;
using nlohmann::json;

namespace {
using bench::cpu;
using bench::now;

json defaults(const std::string& l) {
  if (l == "svm") return {{"kernel", "rbf"}, {"C", 1.0}};
  if (l == "knn") return {{"k", 25}};
  return json::object();
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: bench_learners FILE LEARNER THREADS [OPTIONS_JSON]\n";
    return 2;
  }
  try {
    bench::Prepared data = bench::read_prepared(argv[1]);
    const int64_t ntr = data.ntr, nte = data.nte, d = data.d;
    std::vector<float>& Xtr = data.Xtr;
    std::vector<float>& Xte = data.Xte;
    const std::vector<int32_t>& ytr = data.ytr;
    const std::vector<int32_t>& yte = data.yte;
    for (int64_t j = 0; j < d; ++j) {
      bool indicator = true;  // a one-hot column: left as 0/1, as the pipeline leaves it
      for (int64_t i = 0; i < ntr && indicator; ++i) indicator = Xtr[i * d + j] == 0.f || Xtr[i * d + j] == 1.f;
      if (indicator) continue;
      double s = 0, ss = 0;
      for (int64_t i = 0; i < ntr; ++i) s += Xtr[i * d + j];
      const double mean = s / ntr;
      for (int64_t i = 0; i < ntr; ++i) ss += (Xtr[i * d + j] - mean) * (Xtr[i * d + j] - mean);
      double sd = std::sqrt(ss / ntr);
      if (sd == 0) sd = 1;
      for (int64_t i = 0; i < ntr; ++i) Xtr[i * d + j] = static_cast<float>((Xtr[i * d + j] - mean) / sd);
      for (int64_t i = 0; i < nte; ++i) Xte[i * d + j] = static_cast<float>((Xte[i * d + j] - mean) / sd);
    }
    const std::string learner = argv[2];
    const int threads = std::atoi(argv[3]);
    backend::set_num_threads(threads);
    json o = defaults(learner);
    if (argc > 4) {
      const json extra = json::parse(argv[4]);
      for (const auto& [k, v] : extra.items()) o[k] = v;
    }
    auto m = learners::make_learner(learner, o);
    learners::TrainSet t;
    t.X = {Xtr.data(), ntr, d};
    t.y = ytr.data();
    t.n_classes = 2;
    const double t0 = now(), c0 = cpu();
    m->fit(t);
    const double t1 = now(), c1 = cpu();
    const Tensor s = m->decision_function({Xte.data(), nte, d});
    const double t2 = now(), c2 = cpu();
    std::vector<double> score(s.data(), s.data() + nte);
    std::vector<int> lab(yte.begin(), yte.end());
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    json r = {{"learner", learner}, {"threads", threads}, {"fit_s", t1 - t0}, {"score_s", t2 - t1},
              {"fit_cpu_s", c1 - c0}, {"score_cpu_s", c2 - c1}, {"auc", eval::roc_auc(score, lab)},
              {"peak_rss_mb", ru.ru_maxrss / 1024.0}, {"options", m->options()}, {"summary", m->summary()}};
    std::cout << "RESULT " << r.dump() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "backprop: error: " << e.what() << "\n";
    return 1;
  }
}
