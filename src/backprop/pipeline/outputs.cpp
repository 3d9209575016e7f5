#include "backprop/pipeline/outputs.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "backprop/pipeline/errors.hpp"
#include "backprop/util/atomic_file.hpp"

namespace bp::pipeline {

namespace fs = std::filesystem;

namespace {

std::string normalised(const std::string& p) {
  std::error_code ec;
  fs::path abs = fs::absolute(p, ec);
  if (ec) abs = p;
  // weakly_canonical resolves the symlinks of the part that exists (a link to a directory
  // included) and normalises the rest.
  fs::path canon = fs::weakly_canonical(abs, ec);
  return (ec ? abs.lexically_normal() : canon).string();
}

std::string named(const FileArg& f) { return f.option + " " + f.path; }

}  // namespace

std::vector<FileArg> data_input(const data::DataSpec& spec, const std::string& option) {
  if (spec.source.empty() || spec.is_fashion_mnist()) return {};
  return {{option, spec.source}};
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {}, sb {};
  const bool ea = ::stat(a.c_str(), &sa) == 0, eb = ::stat(b.c_str(), &sb) == 0;
  if (ea && eb) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  if (ea != eb) return false;  // one exists, the other does not: different files
  return normalised(a) == normalised(b);
}

void check_outputs(const std::vector<FileArg>& inputs, const std::vector<FileArg>& outputs) {
  std::vector<const FileArg*> seen;
  for (const FileArg& out : outputs) {
    if (out.path.empty()) continue;
    for (const FileArg& in : inputs) {
      if (in.path.empty()) continue;
      if (same_file(out.path, in.path))
        throw UsageError(named(out) + " is the input " + named(in) + ": writing it would overwrite the " +
                         (in.option == "--model" ? "model" : "input") + "; choose another output file");
    }
    for (const FileArg* earlier : seen)
      if (same_file(out.path, earlier->path))
        throw UsageError(named(out) + " and " + named(*earlier) + " are the same file: one would overwrite the other");
    seen.push_back(&out);

    const fs::path p(out.path);
    if (!p.has_filename())
      throw UsageError(out.option + " '" + out.path + "' names a directory, not a file");
    struct stat st {};
    if (::stat(out.path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
      throw UsageError(out.option + " '" + out.path + "' is a directory, not a file");
    const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
    struct stat ds {};
    if (::stat(dir.c_str(), &ds) != 0) {
      const int err = errno;
      throw util::FileWriteError(out.path, "its directory '" + dir.string() + "' " +
                                               (err == ENOENT ? "does not exist (" + std::string(std::strerror(err)) + ")"
                                                              : std::string(std::strerror(err))));
    }
    if (!S_ISDIR(ds.st_mode)) throw util::FileWriteError(out.path, "'" + dir.string() + "' is not a directory");
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
      const int err = errno;
      throw util::FileWriteError(out.path, "its directory '" + dir.string() + "' is not writable: " + std::strerror(err));
    }
  }
}

}  // namespace bp::pipeline
