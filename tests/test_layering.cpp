// The floors of docs/architecture.md, checked: every #include "backprop/<folder>/..." in
// src/backprop/** and src/cli/** must point to the including file's own folder or to one the
// table below allows. A new folder fails until it is added to the table (with its floor), so
// the layering is decided when the folder is made, not discovered later.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace {

using Table = std::map<std::string, std::set<std::string>>;

// Which folders each folder may include, besides itself. This is the one place the layering is
// written as data; docs/architecture.md draws the same table. Lowest first:
//   util < tensor < backend < autograd < ops < nn < optim < train < pipeline < cli,
// with data/ and eval/ standing low beside the network stack (they use none of it), io/ (model
// files) above nn/ and data/, learners/ (classic learners, no autograd) above data/.
const Table& allowed() {
  static const std::set<std::string> tensor_up{"util", "tensor"};
  static const std::set<std::string> backend_up{"util", "tensor", "backend"};
  static const std::set<std::string> autograd_up{"util", "tensor", "backend", "autograd"};
  static const std::set<std::string> ops_up{"util", "tensor", "backend", "autograd", "ops"};
  static const std::set<std::string> nn_up{"util", "tensor", "backend", "autograd", "ops", "nn"};
  static const std::set<std::string> optim_up{"util", "tensor", "backend", "autograd", "ops", "nn", "optim"};
  auto with = [](std::set<std::string> s, std::initializer_list<const char*> more) {
    for (const char* m : more) s.insert(m);
    return s;
  };
  static const Table t{
      {"util", {}},
      {"tensor", {"util"}},
      {"backend", tensor_up},
      {"autograd", backend_up},
      {"ops", autograd_up},
      {"nn", ops_up},
      {"optim", nn_up},
      {"train", with(optim_up, {"data", "eval"})},
      {"data", {"tensor", "util"}},
      {"eval", {"util"}},
      // eval: a stored calibrator is validated on load; learners: a model file holds a network or a
      // tree learner, and loading rebuilds and validates either (learners/ stands lower: no cycle)
      {"io", with(nn_up, {"data", "eval", "learners"})},
      {"learners", with(backend_up, {"data", "eval"})},
      // onnx: ONNX export and import beside the model files: reads and writes a network (nn) with
      // what a model file holds about it (io), its preprocessing (data); no training
      {"onnx", with(nn_up, {"data", "eval", "learners", "io"})},
      // dist: training on several processes over MPI; it implements train's GradientSync and
      // runs its own loop (asynchronous SGD) over train's batches and losses
      {"dist", with(optim_up, {"train", "data", "eval"})},
      {"pipeline", with(optim_up, {"train", "data", "eval", "io", "learners", "onnx", "dist"})},
      {"cli", with(optim_up, {"train", "data", "eval", "io", "learners", "pipeline", "onnx", "dist"})},
  };
  return t;
}


struct SourceFile {
  std::string path;  // relative to src/: "backprop/nn/conv.cpp", "cli/main.cpp"
  std::vector<std::string> lines;
};

struct Violation {
  std::string file;
  int line;
  std::string include;  // the included path as written
  std::string why;
  std::string str() const {
    if (line == 0) return "src/" + file + ": " + why;
    return "src/" + file + ":" + std::to_string(line) + ": #include \"" + include + "\": " + why;
  }
};

// The folder a file belongs to: "backprop/<folder>/..." or "cli/...".
std::string folder_of(const std::string& path) {
  if (path.rfind("cli/", 0) == 0) return "cli";
  const std::string prefix = "backprop/";
  if (path.rfind(prefix, 0) != 0) return "";
  const auto slash = path.find('/', prefix.size());
  return slash == std::string::npos ? "" : path.substr(prefix.size(), slash - prefix.size());
}

std::string join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : ", ") + x;
  return out.empty() ? "nothing" : out;
}

// Every include that runs against the table. An include is "backprop/<folder>/..." (quoted or
// angled), a bare quoted file name in the includer's own folder (src/cli's style), or an angled
// system or third-party header; a quoted relative path with a '/' would bypass the check.
std::vector<Violation> check(const std::vector<SourceFile>& files, const Table& table) {
  static const std::regex include_re(R"(^\s*#\s*include\s*([<"])([^">]+)[">])");
  std::vector<Violation> out;
  for (const auto& f : files) {
    const std::string from = folder_of(f.path);
    const auto row = table.find(from);
    if (row == table.end()) {
      out.push_back({f.path, 0, "", "folder '" + from + "' is not in the layering table (tests/test_layering.cpp)"});
      continue;
    }
    for (size_t i = 0; i < f.lines.size(); ++i) {
      std::smatch m;
      if (!std::regex_search(f.lines[i], m, include_re)) continue;
      const std::string inc = m[2];
      const int line = static_cast<int>(i) + 1;
      const bool angled = m[1] == "<";
      if (angled && inc.rfind("backprop/", 0) != 0) continue;  // a system or third-party header
      if (inc.rfind("backprop/", 0) != 0) {
        if (inc.find('/') != std::string::npos)
          out.push_back({f.path, line, inc, "a relative path across folders; write \"backprop/<folder>/...\""});
        continue;
      }
      const std::string to = folder_of(inc);
      if (to == from) continue;
      if (!table.count(to))
        out.push_back({f.path, line, inc, "folder '" + to + "' is not in the layering table"});
      else if (!row->second.count(to))
        out.push_back({f.path, line, inc, from + "/ may include only " + join(row->second) + " (and itself)"});
    }
  }
  return out;
}

std::vector<SourceFile> read_tree(const std::string& src) {
  std::vector<SourceFile> files;
  for (const char* top : {"backprop", "cli"}) {
    const std::filesystem::path root = std::filesystem::path(src) / top;
    if (!std::filesystem::exists(root)) continue;
    for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
      if (!e.is_regular_file()) continue;
      const std::string ext = e.path().extension().string();
      if (ext != ".hpp" && ext != ".cpp" && ext != ".h" && ext != ".cc" && ext != ".inl") continue;
      SourceFile f{std::filesystem::relative(e.path(), src).generic_string(), {}};
      std::ifstream in(e.path());
      for (std::string l; std::getline(in, l);) f.lines.push_back(l);
      files.push_back(std::move(f));
    }
  }
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return files;
}

TEST(Layering, EveryIncludeFollowsTheFloors) {
  const auto files = read_tree(bp::testing::source_path("src"));
  ASSERT_GT(files.size(), 50u) << "the source tree was not found under " << bp::testing::source_path("src");
  std::string report;
  for (const auto& v : check(files, allowed())) report += "  " + v.str() + "\n";
  EXPECT_TRUE(report.empty()) << "includes against the layering (docs/architecture.md):\n" << report;
}

// The table itself: no folder lists itself, every folder it names is a row, and it has no
// cycles (a folder may not reach itself through what it includes).
TEST(Layering, TableIsAcyclic) {
  const auto& t = allowed();
  for (const auto& [from, tos] : t) {
    EXPECT_FALSE(tos.count(from)) << from;
    for (const auto& to : tos) EXPECT_TRUE(t.count(to)) << from << " names unknown folder " << to;
  }
  for (const auto& [start, _] : t) {
    std::set<std::string> seen;
    std::vector<std::string> stack(t.at(start).begin(), t.at(start).end());
    while (!stack.empty()) {
      const std::string f = stack.back();
      stack.pop_back();
      ASSERT_NE(f, start) << start << " can reach itself";
      if (!seen.insert(f).second) continue;
      for (const auto& n : t.at(f)) stack.push_back(n);
    }
  }
  // Only cli/ may include cli/.
  for (const auto& [from, tos] : t) EXPECT_FALSE(tos.count("cli")) << from << " may include cli/";
}

// The checker on synthetic trees: it must catch a wrong-way include, name file and line, and
// let the right ones through.
TEST(Layering, CheckerReportsWrongWayIncludes) {
  const std::vector<SourceFile> files = {
      {"backprop/nn/good.cpp",
       {"#include \"backprop/nn/good.hpp\"", "#include <vector>", "#include \"backprop/ops/ops.hpp\"",
        "// #include is only a directive at the start of a line", "#include \"helper.hpp\""}},
      {"backprop/nn/bad.cpp", {"#include \"backprop/nn/module.hpp\"", "", "  #  include \"backprop/optim/optim.hpp\""}},
      {"backprop/data/bad.hpp", {"#include \"backprop/cli/common.hpp\"", "#include <backprop/nn/module.hpp>"}},
      {"backprop/eval/sneaky.cpp", {"#include \"../nn/module.hpp\""}},
      {"backprop/newfolder/x.cpp", {"#include \"backprop/util/rng.hpp\""}},
      {"backprop/ops/y.cpp", {"#include \"backprop/newfolder/x.hpp\""}},
      {"cli/main.cpp", {"#include \"common.hpp\"", "#include \"backprop/pipeline/train.hpp\""}},
  };
  const auto v = check(files, allowed());
  std::vector<std::string> got;
  for (const auto& x : v) got.push_back(x.file + ":" + std::to_string(x.line) + ":" + x.include);
  const std::vector<std::string> want = {
      "backprop/nn/bad.cpp:3:backprop/optim/optim.hpp",
      "backprop/data/bad.hpp:1:backprop/cli/common.hpp",
      "backprop/data/bad.hpp:2:backprop/nn/module.hpp",
      "backprop/eval/sneaky.cpp:1:../nn/module.hpp",
      "backprop/newfolder/x.cpp:0:",
      "backprop/ops/y.cpp:1:backprop/newfolder/x.hpp",
  };
  EXPECT_EQ(got, want);
  ASSERT_FALSE(v.empty());
  EXPECT_EQ(v[0].str(),
            "src/backprop/nn/bad.cpp:3: #include \"backprop/optim/optim.hpp\": nn/ may include only autograd, backend, "
            "ops, tensor, util (and itself)");
}

// The same checker, on the real tree with one wrong-way include added: the whole-tree test
// would fail on it.
TEST(Layering, CheckerCatchesANewViolationInTheRealTree) {
  auto files = read_tree(bp::testing::source_path("src"));
  const size_t before = check(files, allowed()).size();
  files.push_back({"backprop/tensor/oops.cpp", {"#include \"backprop/nn/module.hpp\""}});
  const auto after = check(files, allowed());
  ASSERT_EQ(after.size(), before + 1);
  bool found = false;
  for (const auto& v : after) found |= v.file == "backprop/tensor/oops.cpp" && v.line == 1;
  EXPECT_TRUE(found);
}

}  // namespace
