// The subcommands of `backprop`. Each registers its options on the app and returns the
// function that runs it (after parsing), which returns the process's exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <exception>
#include <functional>
#include <string>

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
Runner add_quantize(CLI::App& app);

// Prints a failure once ("backprop: error: " + prefix + its message) and returns the exit code
// of its type (main.cpp, "Exit codes"). main() calls it for every subcommand; a distributed
// train calls it itself before ending the other ranks (prefix "rank R: " on ranks other than 0).
int report_error(std::exception_ptr error, const std::string& prefix = "");

}  // namespace bp::cli
