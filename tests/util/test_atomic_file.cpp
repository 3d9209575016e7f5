// The one atomic file writer: content, failures that say why, no temporary left behind after
// an exception or a SIGTERM, and no mixed file from two processes writing the same target.
//
// The cases about processes run this test binary again as a child (with
// --gtest_also_run_disabled_tests and the DISABLED_ child "test" below, told what to do by an
// environment variable), so that each writer is a real, separate process.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "backprop/util/atomic_file.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using bp::util::FileWriteError;
using bp::util::write_atomic;
using bp::util::write_file_atomic;

constexpr const char* kModeVar = "BACKPROP_ATOMIC_CHILD";

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("backprop_atomic_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::set<std::string> entries() const {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(path)) out.insert(e.path().filename().string());
    return out;
  }
};

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Content that tells its writer apart on every line: `lines` lines of `width` copies of `ch`.
std::string pattern(char ch, int lines, int width) {
  std::string s;
  for (int i = 0; i < lines; ++i) s += std::string(static_cast<size_t>(width), ch) + "\n";
  return s;
}

// Starts this test binary as a child doing `mode`; returns its pid.
pid_t spawn_child(const std::string& mode) {
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  std::vector<std::string> env_strings{std::string(kModeVar) + "=" + mode};
  for (char** e = environ; *e; ++e)
    if (std::string(*e).rfind(std::string(kModeVar) + "=", 0) != 0) env_strings.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string a0 = self, a1 = "--gtest_filter=UtilAtomicFileChild.DISABLED_Run", a2 = "--gtest_also_run_disabled_tests";
  char* argv[] = {a0.data(), a1.data(), a2.data(), nullptr};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, self.c_str(), &fa, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot start the child process");
  return pid;
}

int wait_status(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

bool wait_for_file(const fs::path& p, std::chrono::seconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (fs::exists(p)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

// The child's work. Modes:
//   write:PATH:CHAR:LINES:WIDTH:REPEATS   write pattern(CHAR, LINES, WIDTH) to PATH, REPEATS times
//   hang:PATH                             start writing PATH, create PATH.ready, wait for a signal
TEST(UtilAtomicFileChild, DISABLED_Run) {
  const char* mode_c = std::getenv(kModeVar);
  if (!mode_c) GTEST_SKIP() << "run only as a child of the tests below";
  std::vector<std::string> f;
  std::stringstream ss(mode_c);
  for (std::string item; std::getline(ss, item, ':');) f.push_back(item);
  if (f.at(0) == "write") {
    const std::string content = pattern(f.at(2).at(0), std::stoi(f.at(3)), std::stoi(f.at(4)));
    for (int i = 0, n = std::stoi(f.at(5)); i < n; ++i) write_file_atomic(f.at(1), content);
    std::_Exit(0);
  }
  if (f.at(0) == "hang") {
    write_atomic(f.at(1), [&](const bp::util::ByteSink& put) {
      put("half a file", 11);
      std::ofstream(f.at(1) + ".ready") << "ready";
      for (;;) ::pause();  // SIGTERM ends it here
    });
  }
  std::_Exit(3);
}

TEST(UtilAtomicFile, WritesTheContentAndNothingElse) {
  TempDir dir;
  const fs::path p = dir.path / "out.txt";
  write_file_atomic(p, "first\n");
  write_file_atomic(p, "second, longer\n");
  EXPECT_EQ(read_all(p), "second, longer\n");
  write_file_atomic(p, "");
  EXPECT_EQ(read_all(p), "");
  EXPECT_EQ(dir.entries(), (std::set<std::string>{"out.txt"}));
  EXPECT_EQ(bp::util::detail::live_temporaries(), 0);
}

TEST(UtilAtomicFile, AnExceptionRemovesTheTemporaryAndKeepsTheOldFile) {
  TempDir dir;
  const fs::path p = dir.path / "out.txt";
  write_file_atomic(p, "old\n");
  EXPECT_THROW(write_atomic(p,
                            [&](const bp::util::ByteSink& put) {
                              put("partial", 7);
                              EXPECT_EQ(dir.entries().size(), 2u);  // the target and one temporary
                              EXPECT_EQ(bp::util::detail::live_temporaries(), 1);
                              throw std::runtime_error("disk on fire");
                            }),
               std::runtime_error);
  EXPECT_EQ(read_all(p), "old\n");
  EXPECT_EQ(dir.entries(), (std::set<std::string>{"out.txt"}));
  EXPECT_EQ(bp::util::detail::live_temporaries(), 0);
}

TEST(UtilAtomicFile, FailuresSayWhy) {
  TempDir dir;
  auto message = [](const fs::path& p) {
    try {
      write_file_atomic(p, "x");
    } catch (const FileWriteError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  const std::string missing = message(dir.path / "no" / "such" / "out.txt");
  EXPECT_NE(missing.find("no/such/out.txt"), std::string::npos) << missing;
  EXPECT_NE(missing.find("No such file or directory"), std::string::npos) << missing;
  EXPECT_NE(message("").find("the file name is empty"), std::string::npos);
  EXPECT_NE(message(dir.path / "sub/").find("not a file name"), std::string::npos);
  // The rename fails: the target is a non-empty directory.
  fs::create_directories(dir.path / "taken" / "inside");
  const std::string taken = message(dir.path / "taken");
  EXPECT_NE(taken.find("cannot rename"), std::string::npos) << taken;
  EXPECT_EQ(dir.entries(), (std::set<std::string>{"taken"}));
}

TEST(UtilAtomicFile, AFailedWriteSaysWhy) {
  // A file-size limit makes write() fail (EFBIG, "File too large") as a full disk does
  // (ENOSPC): the same path through the writer. Set in a child process, so the limit stays there.
  TempDir dir;
  const fs::path p = dir.path / "big.txt";
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    rlimit lim{16, 16};
    ::setrlimit(RLIMIT_FSIZE, &lim);
    try {
      write_file_atomic(p, std::string(1000, 'x'));
    } catch (const FileWriteError& e) {
      const std::string m = e.what();
      std::_Exit(m.find("File too large") != std::string::npos && m.find("big.txt") != std::string::npos ? 0 : 2);
    }
    std::_Exit(1);
  }
  const int status = wait_status(pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: no error, 2: the message did not say why";
  EXPECT_TRUE(dir.entries().empty());  // the temporary was removed
}

TEST(UtilAtomicFile, TwoProcessesWritingOneFileNeverMixIt) {
  TempDir dir;
  const fs::path p = dir.path / "shared.csv";
  // Different line widths and lengths, as two predict runs on different data would write.
  const std::string a = pattern('a', 20000, 15), b = pattern('b', 29000, 11);
  const pid_t pa = spawn_child("write:" + p.string() + ":a:20000:15:40");
  const pid_t pb = spawn_child("write:" + p.string() + ":b:29000:11:40");
  int seen = 0, bad = 0;
  pid_t pids[2] = {pa, pb};
  int status[2] = {0, 0};
  bool done[2] = {false, false};
  while (!done[0] || !done[1]) {
    for (int i = 0; i < 2; ++i)
      if (!done[i]) done[i] = ::waitpid(pids[i], &status[i], WNOHANG) == pids[i];
    if (fs::exists(p)) {  // a reader in the middle of the writes sees one whole file or the other
      const std::string now = read_all(p);
      ++seen;
      bad += now != a && now != b;
    }
  }
  for (int st : status) EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "a writer failed: status " << st;
  EXPECT_GT(seen, 0);
  EXPECT_EQ(bad, 0) << "a reader saw a mixed or partial file " << bad << " times of " << seen;
  const std::string last = read_all(p);
  EXPECT_TRUE(last == a || last == b);
  EXPECT_EQ(dir.entries(), (std::set<std::string>{"shared.csv"}));  // no temporary left behind
}

TEST(UtilAtomicFile, SigtermRemovesTheTemporary) {
  TempDir dir;
  const fs::path p = dir.path / "model.bin";
  write_file_atomic(p, "the old model\n");
  const pid_t pid = spawn_child("hang:" + p.string());
  ASSERT_TRUE(wait_for_file(dir.path / "model.bin.ready", std::chrono::seconds(60)));
  size_t temporaries = 0;
  for (const std::string& name : dir.entries()) temporaries += name.rfind("model.bin.tmp.", 0) == 0;
  EXPECT_EQ(temporaries, 1u) << "the child should be writing its temporary now";
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  const int status = wait_status(pid);
  // The default action of SIGTERM still ends the process (the handler re-raises it).
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit status " << status;
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  EXPECT_EQ(dir.entries(), (std::set<std::string>{"model.bin", "model.bin.ready"}));
  EXPECT_EQ(read_all(p), "the old model\n");
}

}  // namespace
