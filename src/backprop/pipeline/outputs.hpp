// The files a workflow reads and writes, checked before any work: no output may be one of
// the inputs (the same file, however it is named), no two outputs the same file, and every
// output must be writable where it is named. Every workflow calls check_outputs first, so that
// `train --data a.csv -o a.csv` stops before it replaces the CSV with a model, and
// `train -o /nonexistent/m` stops before it trains.
#pragma once

#include <string>
#include <vector>

#include "backprop/data/source.hpp"

namespace bp::pipeline {

// A file named on the command line, with the option that named it ("--data", "a.csv").
struct FileArg {
  std::string option;
  std::string path;
};

// The data source as an input file; none for Fashion-MNIST (a directory of IDX files that no
// output can name) or an empty source.
std::vector<FileArg> data_input(const data::DataSpec& spec, const std::string& option = "--data");

// Two paths name the same file: the same device and inode where both exist (so a symlink,
// a hard link, "./a.csv" and "dir/../a.csv" all match), the same normalised absolute path
// otherwise.
bool same_file(const std::string& a, const std::string& b);

// For each output (entries with an empty path are skipped: "no such output"):
//   * it is the same file as an input: UsageError naming both ("--output a.csv is the input
//     --data a.csv: writing it would overwrite the data");
//   * it is the same file as an earlier output: UsageError naming both;
//   * the name is empty, ends in '/', or names an existing directory: UsageError;
//   * its directory does not exist, is not a directory, or is not writable (access W_OK|X_OK:
//     the atomic writer creates a temporary file there): util::FileWriteError, as the write
//     itself would have failed after the work.
void check_outputs(const std::vector<FileArg>& inputs, const std::vector<FileArg>& outputs);

}  // namespace bp::pipeline
