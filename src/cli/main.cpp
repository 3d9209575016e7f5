// backprop: train, evaluate and use neural networks from the command line.
#include <cstdio>
#include <exception>
#include <map>

#include "commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"backprop: neural networks from the single neuron to deep networks — train, evaluate, predict.", "backprop"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "backprop 0.1.0");
  std::map<CLI::App*, bp::cli::Runner> runners;
  for (auto add : {bp::cli::add_train, bp::cli::add_evaluate, bp::cli::add_predict, bp::cli::add_tune, bp::cli::add_study}) {
    const size_t before = app.get_subcommands({}).size();
    bp::cli::Runner r = add(app);
    runners[app.get_subcommands({})[before]] = std::move(r);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto* sub : app.get_subcommands()) return runners.at(sub)();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "backprop: error: %s\n", e.what());
    return 1;
  }
  return 1;
}
