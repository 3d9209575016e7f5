// LeNet-5 on Fashion-MNIST: load the data, build the network, train it, score it.
//
//   ./build/example_lenet_fashion_mnist [epochs=12] [threads=1]
// (needs the Debian package dataset-fashion-mnist; docs/cnn.md has the results.)
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "backprop/backend/backend.hpp"
#include "backprop/data/idx.hpp"
#include "backprop/nn/cnn.hpp"
#include "backprop/optim/optim.hpp"
#include "backprop/train/fit.hpp"

int main(int argc, char** argv) {
  using namespace bp;
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 12;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  if (epochs < 1 || threads < 1) {
    std::fprintf(stderr, "usage: %s [epochs >= 1] [threads >= 1]\n", argv[0]);
    return 2;
  }
  if (!data::fashion_mnist_available()) {
    std::fprintf(stderr, "Fashion-MNIST not found in %s (apt-get install dataset-fashion-mnist)\n", data::kFashionMnistDir);
    return 1;
  }
  backend::set_num_threads(threads);
  const data::Dataset train = data::load_fashion_mnist(data::kFashionMnistDir, "train");
  const data::Dataset test = data::load_fashion_mnist(data::kFashionMnistDir, "test");

  // Flat rows of 784 pixels in [0, 1]; the network's first layer views them as (1, 28, 28).
  auto net = nn::make_lenet5({.input = {784}, .classes = 10, .act = nn::Act::ReLU, .max_pool = true, .seed = 42});
  optim::Adam opt(net->parameters(), {.lr = 2e-3f});
  train::FitOptions o;
  o.epochs = epochs;
  o.batch_size = 64;
  o.schedule = "cosine";
  o.on_epoch = [](const train::EpochStats& s) {
    std::printf("epoch %2d  loss %.4f  train accuracy %.2f%%  %.1f s\n", s.epoch, s.train.loss, 100 * s.train.accuracy,
                s.seconds);
    return true;
  };
  const auto t0 = std::chrono::steady_clock::now();
  train::fit(*net, Task::Multiclass, train.x, train::Targets{train.labels, {}}, opt, o);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto s = train::score(*net, Task::Multiclass, train::Loss::Auto, test.x, train::Targets{test.labels, {}});
  std::printf("LeNet-5: test accuracy %.2f%% after %d epochs, %.0f s of training\n", 100 * s.accuracy, epochs, secs);
  return 0;
}
