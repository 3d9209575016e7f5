// backprop: train, evaluate and use neural networks from the command line.
//
// Exit codes (README, "Exit codes"): 0 success; 1 any other runtime failure; 2 usage (an
// option's value or a combination of options); 3 bad input data; 4 a model file that cannot
// be read or is not a valid model; 5 an output file that cannot be written; 6 training
// diverged. Killed by SIGINT/SIGTERM: the shell's 128 + signal, after removing temporaries.
#include <cstdio>
#include <exception>
#include <map>
#include <new>
#include <string>

#include "backprop/data/error.hpp"
#include "backprop/io/safetensors.hpp"
#include "backprop/pipeline/errors.hpp"
#include "backprop/train/fit.hpp"
#include "backprop/util/atomic_file.hpp"
#include "backprop/util/version.hpp"
#include "commands.hpp"

namespace {

enum ExitCode { kOk = 0, kFailure = 1, kUsage = 2, kBadData = 3, kBadModelFile = 4, kCannotWrite = 5, kDiverged = 6 };

// A model file that could not be written carries the writer's FileWriteError nested inside
// its ModelFileError (io::atomic_write).
bool is_write_failure(const std::exception& e) {
  try {
    std::rethrow_if_nested(e);
  } catch (const bp::util::FileWriteError&) {
    return true;
  } catch (...) {
  }
  return false;
}

int fail(int code, const char* message, const std::string& prefix) {
  std::fflush(stdout);
  std::fprintf(stderr, "backprop: error: %s%s\n", prefix.c_str(), message);
  return code;
}

}  // namespace

int bp::cli::report_error(std::exception_ptr error, const std::string& prefix) {
  try {
    std::rethrow_exception(error);
  } catch (const bp::pipeline::UsageError& e) {
    return fail(kUsage, e.what(), prefix);
  } catch (const bp::data::DataError& e) {
    return fail(kBadData, e.what(), prefix);
  } catch (const bp::io::ModelFileError& e) {
    return fail(is_write_failure(e) ? kCannotWrite : kBadModelFile, e.what(), prefix);
  } catch (const bp::util::FileWriteError& e) {
    return fail(kCannotWrite, e.what(), prefix);
  } catch (const bp::train::DivergenceError& e) {
    return fail(kDiverged, e.what(), prefix);
  } catch (const std::bad_alloc&) {
    return fail(kFailure, "out of memory", prefix);
  } catch (const std::exception& e) {
    return fail(kFailure, e.what(), prefix);
  } catch (...) {
    return fail(kFailure, "unknown failure", prefix);
  }
}

int main(int argc, char** argv) {
  CLI::App app{"backprop: neural networks from the single neuron to deep networks — train, evaluate, predict.", "backprop"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "backprop " BACKPROP_VERSION_STRING);
  std::map<CLI::App*, bp::cli::Runner> runners;
  for (auto add : {bp::cli::add_train, bp::cli::add_evaluate, bp::cli::add_predict, bp::cli::add_tune, bp::cli::add_study,
                    bp::cli::add_sample, bp::cli::add_info, bp::cli::add_embed, bp::cli::add_similar, bp::cli::add_export,
                    bp::cli::add_import, bp::cli::add_quantize}) {
    const size_t before = app.get_subcommands({}).size();
    bp::cli::Runner r = add(app);
    runners[app.get_subcommands({})[before]] = std::move(r);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    return fail(kUsage, e.what(), "");
  }
  try {
    for (auto* sub : app.get_subcommands()) return runners.at(sub)();
  } catch (...) {
    return bp::cli::report_error(std::current_exception());
  }
  return kFailure;
}
