// The subcommands of `backprop`. Each registers its options on the app and returns the
// function that runs it (after parsing), which returns the process's exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace bp::cli {

using Runner = std::function<int()>;

Runner add_train(CLI::App& app);
Runner add_evaluate(CLI::App& app);
Runner add_predict(CLI::App& app);
Runner add_tune(CLI::App& app);
Runner add_study(CLI::App& app);
Runner add_sample(CLI::App& app);
Runner add_info(CLI::App& app);
Runner add_embed(CLI::App& app);
Runner add_similar(CLI::App& app);
Runner add_export(CLI::App& app);
Runner add_import(CLI::App& app);

}  // namespace bp::cli
