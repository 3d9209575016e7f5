// LeNet-5 speed: training (batch 128, Adam) and inference (batch 1 and 128) in samples per
// second, on synthetic 28×28 inputs. bench/peer_lenet.py runs the same work in PyTorch;
// scripts/bench_lenet.sh runs both and prints the ratios.
//
//   bench_lenet [--threads N] [--steps S] [--repeats R] [--train-only] [--model lenet5|resnet]
//               [--summary] [--profile] [--dump FILE]
// Prints one line per measurement: "train threads=1 samples_per_s=12345.6". --model resnet
// times nn::make_resnet's default network (mirroring and dropout on), whose PyTorch twin is
// `peer_lenet.py --model resnet`. --summary prints the parameter count and shapes (as the
// twin's --summary does); --dump FILE (resnet) writes weights, an input batch and our outputs
// and gradients for `peer_lenet.py --check FILE`; --profile times every layer's forward and
// backward over S training steps.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "backprop/backend/backend.hpp"
#include "backprop/io/safetensors.hpp"
#include "backprop/nn/cnn.hpp"
#include "backprop/nn/residual.hpp"
#include "backprop/ops/ops.hpp"
#include "backprop/optim/optim.hpp"
#include "backprop/tensor/allocator.hpp"

#include "bench_clock.hpp"

using namespace bp;
using Clock = std::chrono::steady_clock;

namespace {

using bench::median;
using bench::cpu_seconds;
using bench::seconds_since;

// The process's CPU time in seconds (all its threads): what --profile measures, so that time
// spent waiting for a core on a loaded machine does not count.
// Parameter count and every parameter's name and shape, in the twin's --summary format.
void print_summary(nn::Module& net) {
  std::printf("parameters %lld\n", static_cast<long long>(nn::parameter_count(net)));
  auto ps = net.parameters();
  auto names = net.parameter_names();
  for (size_t i = 0; i < ps.size(); ++i) {
    std::string dims;
    for (int64_t d : ps[i].shape()) {
      if (!dims.empty()) dims += 'x';
      dims += std::to_string(d);
    }
    std::printf("  %s %s\n", names[i].c_str(), dims.c_str());
  }
}

Tensor labels_tensor(const std::vector<int32_t>& y) {
  Tensor t({static_cast<int64_t>(y.size())});
  for (size_t i = 0; i < y.size(); ++i) t[static_cast<int64_t>(i)] = static_cast<float>(y[i]);
  return t;
}

// For peer_lenet.py --check: the residual net without mirroring and dropout (the same weights:
// those layers draw from their own generators), three Adam steps so that the weights and
// running statistics are not the initial ones, then the weights, running statistics, an input
// batch of 32, the eval-mode logits, and after one training-mode forward and backward the loss,
// every parameter's gradient and the updated running statistics.
void dump_resnet(const std::string& path, const std::vector<Tensor>& xs, const std::vector<std::vector<int32_t>>& ys) {
  auto net = nn::make_resnet({.input = {784}, .dropout = 0.f, .augment_flip = false});
  optim::Adam opt(net->parameters(), {.lr = 1e-3f});
  net->set_training(true);
  for (int s = 0; s < 3; ++s) {
    opt.zero_grad();
    ops::softmax_cross_entropy(net->forward(Var(xs[s])), ys[s]).backward();
    opt.step();
  }
  const int64_t n = 32;
  std::vector<int64_t> idx(n);
  for (int64_t i = 0; i < n; ++i) idx[i] = i;
  Tensor x = gather_rows(xs[3], idx.data(), n);
  std::vector<int32_t> y(ys[3].begin(), ys[3].begin() + n);
  io::NamedTensors out;
  auto ps = net->parameters();
  auto names = net->parameter_names();
  for (size_t i = 0; i < ps.size(); ++i) out.emplace_back("param." + std::to_string(i) + "." + names[i], ps[i].value().clone());
  auto save_buffers = [&](const std::string& prefix) {
    auto bufs = net->buffers();
    for (size_t i = 0; i < bufs.size(); ++i)
      out.emplace_back(prefix + (i % 2 ? "running_var." : "running_mean.") + std::to_string(i / 2), bufs[i]->clone());
  };
  save_buffers("");
  out.emplace_back("x", x.clone());
  out.emplace_back("y", labels_tensor(y));
  net->set_training(false);
  {
    autograd::NoGradGuard ng;
    out.emplace_back("logits_eval", net->forward(Var(x)).value().clone());
  }
  net->set_training(true);
  opt.zero_grad();
  Var loss = ops::softmax_cross_entropy(net->forward(Var(x)), y);
  loss.backward();
  out.emplace_back("loss", loss.value().clone());
  for (size_t i = 0; i < ps.size(); ++i) out.emplace_back("grad." + std::to_string(i) + "." + names[i], ps[i].grad().clone());
  save_buffers("after.");
  io::write_safetensors(path, out, {});
}

// Per-layer times of training steps. The forward walks the network the way Sequential and
// Residual do (Residual: block, projection, then add_relu, or add and the post activation),
// timing each layer; the backward wraps every recorded node's backward function with a
// clock, labelled with the layer whose output it is (ops inside a layer by their op name).
struct Profile {
  std::vector<std::string> order;          // labels in first-seen order
  std::map<std::string, double> fwd, bwd;  // seconds
  std::unordered_map<const Node*, std::string> label;

  void add(std::map<std::string, double>& m, const std::string& k, double t) {
    if (!fwd.count(k) && !bwd.count(k)) order.push_back(k);
    m[k] += t;
  }
  Var timed(const std::string& k, const std::function<Var()>& f) {
    const double t0 = cpu_seconds();
    Var v = f();
    add(fwd, k, cpu_seconds() - t0);
    if (v.defined()) label.insert_or_assign(v.node(), k);  // an address may be reused once a constant is freed
    return v;
  }
  Var forward(nn::Module& m, const Var& x, const std::string& path) {
    if (auto* s = dynamic_cast<nn::Sequential*>(&m)) {
      Var h = x;
      for (size_t i = 0; i < s->size(); ++i) h = forward((*s)[i], h, path + (path.empty() ? "" : ".") + std::to_string(i));
      return h;
    }
    if (auto* r = dynamic_cast<nn::Residual*>(&m)) {
      Var y = forward(r->block(), x, path + ".block");
      Var sc = r->projection() ? forward(*r->projection(), x, path + ".projection") : x;
      const auto post = nn::act_from_string(r->config()["post"].get<std::string>());
      if (post == nn::Act::ReLU) return timed(path + " add_relu", [&] { return ops::add_relu(y, sc); });
      Var sum = timed(path + " add", [&] { return ops::add(y, sc); });
      return timed(path + " " + nn::to_string(post), [&] { return nn::apply(post, sum); });
    }
    return timed(path + " " + m.type() + " " + shape_str(x.shape()), [&] { return m.forward(x); });
  }
  // Wraps the backward of every node reachable from `root`.
  void wrap(const Var& root) {
    std::unordered_set<Node*> seen;
    std::vector<Node*> todo{root.node()};
    while (!todo.empty()) {
      Node* nd = todo.back();
      todo.pop_back();
      if (!seen.insert(nd).second) continue;
      for (auto& in : nd->inputs) todo.push_back(in.get());
      if (!nd->backward) continue;
      auto it = label.find(nd);
      std::string k = it != label.end() ? it->second : std::string("(op) ") + nd->op;
      nd->backward = [this, k, f = std::move(nd->backward)](Node& n) {
        const double t0 = cpu_seconds();
        f(n);
        add(bwd, k, cpu_seconds() - t0);
      };
    }
  }
};

void profile_training(nn::Module& net, optim::Optimizer& opt, const std::vector<Tensor>& xs,
                      const std::vector<std::vector<int32_t>>& ys, int steps) {
  Profile p;
  double t_zero = 0, t_loss = 0, t_step = 0, t_release = 0, t_all = 0;
  const auto wall0 = Clock::now();
  for (int s = 0; s < steps; ++s) {
    const double t0 = cpu_seconds();
    opt.zero_grad();
    t_zero += cpu_seconds() - t0;
    {
      Var out = p.forward(net, Var(xs[s % xs.size()]), "");
      double t1 = cpu_seconds();
      Var loss = ops::softmax_cross_entropy(out, ys[s % ys.size()]);
      t_loss += cpu_seconds() - t1;
      p.wrap(loss);
      loss.backward();
      t1 = cpu_seconds();
      out = Var();
      loss = Var();  // frees the graph: activations and their gradients
      t_release += cpu_seconds() - t1;
    }
    p.label.clear();
    double t1 = cpu_seconds();
    opt.step();
    t_step += cpu_seconds() - t1;
    t_all += cpu_seconds() - t0;
  }
  const double ms = 1e3 / steps;
  double fsum = 0, bsum = 0;
  const double wall = seconds_since(wall0);
  std::printf("profile: %d training steps, CPU ms per step (forward, backward), share of the step\n", steps);
  for (auto& k : p.order) {
    const double f = p.fwd.count(k) ? p.fwd[k] : 0, b = p.bwd.count(k) ? p.bwd[k] : 0;
    fsum += f;
    bsum += b;
    std::printf("  %-58s %8.3f %8.3f  %5.1f %%\n", k.c_str(), f * ms, b * ms, 100 * (f + b) / t_all);
  }
  const double other = t_all - fsum - bsum - t_zero - t_loss - t_step - t_release;
  std::printf("  %-58s %8.3f\n  %-58s %8.3f\n  %-58s %8.3f\n  %-58s %8.3f\n  %-58s %8.3f\n", "zero_grad", t_zero * ms,
              "softmax cross-entropy forward", t_loss * ms, "optimizer step (Adam)", t_step * ms,
              "releasing the graph", t_release * ms, "the rest", other * ms);
  std::printf("  %-58s %8.3f CPU ms per step (%.1f samples per CPU second); wall %.3f ms per step\n", "total", t_all * ms,
              128.0 * steps / t_all, wall * ms);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, steps = 50, repeats = 5;
  bool train_only = false, summary = false, profile = false;
  std::string model = "lenet5", dump;
  if (argc == 2 && std::string(argv[1]) == "--info") {  // what ran, for scripts/bench_lenet.sh
    std::printf("%s; %s\n", bp::backend::blas_info(), bp::backend::machine_line().c_str());
    return 0;
  }
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_lenet: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return std::atoi(argv[++i]);
    };
    if (a == "--threads") threads = next();
    else if (a == "--steps") steps = next();
    else if (a == "--repeats") repeats = next();
    else if (a == "--train-only") train_only = true;
    else if (a == "--model" && i + 1 < argc) model = argv[++i];
    else if (a == "--summary") summary = true;
    else if (a == "--profile") profile = true;
    else if (a == "--dump" && i + 1 < argc) dump = argv[++i];
    else {
      std::fprintf(stderr, "usage: bench_lenet [--threads N] [--steps S] [--repeats R] [--train-only] [--model lenet5|resnet]"
                           " [--summary] [--profile] [--dump FILE]\n");
      return 2;
    }
  }
  if (threads < 1 || steps < 1 || repeats < 1) {
    std::fprintf(stderr, "bench_lenet: threads, steps and repeats must be positive\n");
    return 2;
  }
  backend::set_num_threads(threads);
  const int64_t batch = 128, nbatches = 8;
  Rng rng(1);
  std::vector<Tensor> xs;
  std::vector<std::vector<int32_t>> ys;
  for (int64_t b = 0; b < nbatches; ++b) {
    Tensor x({batch, 784});
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(rng.uniform());
    std::vector<int32_t> y(batch);
    for (auto& c : y) c = static_cast<int32_t>(rng.below(10));
    xs.push_back(std::move(x));
    ys.push_back(std::move(y));
  }
  if (model != "lenet5" && model != "resnet") {
    std::fprintf(stderr, "bench_lenet: unknown model '%s' (lenet5 or resnet)\n", model.c_str());
    return 2;
  }
  std::unique_ptr<nn::Module> net;
  if (model == "lenet5") net = nn::make_lenet5({.input = {784}});
  else net = nn::make_resnet({.input = {784}});
  if (summary) {
    print_summary(*net);
    return 0;
  }
  if (!dump.empty()) {
    if (model != "resnet") {
      std::fprintf(stderr, "bench_lenet: --dump is for --model resnet\n");
      return 2;
    }
    dump_resnet(dump, xs, ys);
    return 0;
  }
  optim::Adam opt(net->parameters(), {.lr = 1e-3f});
  auto train_steps = [&](int n) {
    for (int s = 0; s < n; ++s) {
      opt.zero_grad();
      Var loss = ops::softmax_cross_entropy(net->forward(Var(xs[s % nbatches])), ys[s % nbatches]);
      loss.backward();
      opt.step();
    }
  };
  net->set_training(true);
  train_steps(5);  // warm-up: allocations, thread pools
  if (profile) {
    profile_training(*net, opt, xs, ys, steps);
    return 0;
  }
  std::vector<double> rates;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = Clock::now();
    train_steps(steps);
    rates.push_back(static_cast<double>(steps * batch) / seconds_since(t0));
  }
  std::printf("train threads=%d samples_per_s=%.1f\n", threads, median(rates));
  std::fflush(stdout);
  // The tensor allocator's counters (tensor/allocator.hpp), on stderr: scripts/bench_lenet.sh
  // reads every stdout line as a measurement.
  auto report_memory = [] {
    const memory::Stats m = memory::stats();
    std::fprintf(stderr, "memory peak_live_bytes=%lld cached_bytes=%lld hits=%lld misses=%lld caching=%d\n",
                 static_cast<long long>(m.peak_live_bytes), static_cast<long long>(m.cached_bytes),
                 static_cast<long long>(m.hits), static_cast<long long>(m.misses), m.caching ? 1 : 0);
  };
  if (train_only) return report_memory(), 0;

  net->set_training(false);
  autograd::NoGradGuard ng;
  for (int64_t bs : {int64_t{128}, int64_t{1}}) {
    std::vector<Tensor> inputs;
    for (int64_t i = 0; i < batch; i += bs) {
      std::vector<int64_t> idx(static_cast<size_t>(bs));
      for (int64_t j = 0; j < bs; ++j) idx[j] = i + j;
      inputs.push_back(gather_rows(xs[0], idx.data(), bs));
    }
    const int calls = bs == 1 ? 2000 : std::max(steps * 2, 20);
    for (int i = 0; i < 10; ++i) net->forward(Var(inputs[i % inputs.size()]));
    rates.clear();
    for (int r = 0; r < repeats; ++r) {
      const auto t0 = Clock::now();
      for (int i = 0; i < calls; ++i) net->forward(Var(inputs[i % inputs.size()]));
      rates.push_back(static_cast<double>(calls * bs) / seconds_since(t0));
    }
    std::printf("infer%lld threads=%d samples_per_s=%.1f\n", static_cast<long long>(bs), threads, median(rates));
    std::fflush(stdout);
  }
  report_memory();
  return 0;
}
