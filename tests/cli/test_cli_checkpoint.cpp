// `backprop train --checkpoint / --resume` as a separate process (docs/checkpoints.md): a run
// stopped by a real SIGTERM writes its checkpoint, exits 143 and says how to resume; the
// resumed run ends with the model of the run that was never stopped, bit for bit; a resumed
// finished run trains nothing; conflicting options, damaged files and tree learners are refused.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "../test_util.hpp"
#include "backprop/io/model_file.hpp"
#include "cli_test_util.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using bp::testing::cli::run;
using bp::testing::cli::slurp;

class CliCheckpoint : public bp::testing::TempDirTest {
 protected:
  CliCheckpoint() : TempDirTest("backprop_cli_ckpt") {}
};

// Starts the binary with `args`, stdout and stderr to `log`.
pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> all{std::string(BACKPROP_BINARY_DIR) + "/backprop"};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

std::map<std::string, std::vector<float>> tensors(const std::string& file) {
  std::map<std::string, std::vector<float>> out;
  for (const auto& [name, t] : bp::io::read_safetensors(file).tensors)
    out[name] = std::vector<float>(t.data(), t.data() + t.numel());
  return out;
}

// The training losses the model file records (its report's history).
std::vector<double> losses(const std::string& file) {
  const auto m = bp::io::load_model(file);
  std::vector<double> out;
  for (const auto& e : m.info.extra.at("training").at("history")) {
    out.push_back(e.at("loss").get<double>());
    out.push_back(e.at("val_loss").get<double>());
  }
  return out;
}

TEST_F(CliCheckpoint, SigtermWritesACheckpointAndTheResumedRunEndsBitIdentical) {
  const std::string sonar = bp::testing::repo_data("Sonar.csv");
  const std::vector<std::string> common{"train", "--data", sonar, "--hidden", "8", "--epochs", "150",
                                        "--batch-size", "8", "--seed", "4", "--validation", "0.2",
                                        "--threads", "1", "-q"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = common;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  // Checkpoints after every step make the run slow enough to be caught in the middle.
  const pid_t pid = spawn(with({"--checkpoint", path("run.ckpt"), "--checkpoint-every", "1steps", "-o",
                                path("stopped.safetensors")}),
                          path("stopped.log"));
  ASSERT_GT(pid, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(path("run.ckpt")) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_TRUE(fs::exists(path("run.ckpt"))) << slurp(path("stopped.log"));
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  const std::string log = slurp(path("stopped.log"));
  ASSERT_TRUE(WIFEXITED(status)) << "killed instead of stopping: " << log;
  EXPECT_EQ(WEXITSTATUS(status), 143) << log;
  EXPECT_NE(log.find("training stopped by SIGTERM"), std::string::npos) << log;
  EXPECT_NE(log.find("resume with: backprop train --resume " + path("run.ckpt")), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(path("stopped.safetensors")));
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();

  // Resumed (the options come from the checkpoint; the model file and the interval may change).
  const auto resumed = run("train --resume '" + path("run.ckpt") + "' --checkpoint-every 100000steps -q -o '" +
                           path("resumed.safetensors") + "'");
  ASSERT_EQ(resumed.code, 0) << resumed.out;
  // Never stopped.
  std::string plain;
  for (const auto& a : with({"-o", path("plain.safetensors")})) plain += "'" + a + "' ";
  const auto straight = run(plain);
  ASSERT_EQ(straight.code, 0) << straight.out;
  EXPECT_EQ(tensors(path("plain.safetensors")), tensors(path("resumed.safetensors")));
  EXPECT_EQ(losses(path("plain.safetensors")), losses(path("resumed.safetensors")));
  EXPECT_GE(losses(path("plain.safetensors")).size(), 100u);  // the report keeps about 100 of the 150 epochs

  // The checkpoint now holds the finished run: resuming it trains nothing, the model is the same.
  const auto again = run("train --resume '" + path("run.ckpt") + "' -o '" + path("again.safetensors") + "'");
  ASSERT_EQ(again.code, 0) << again.out;
  EXPECT_NE(again.out.find("nothing left to train"), std::string::npos) << again.out;
  EXPECT_EQ(tensors(path("plain.safetensors")), tensors(path("again.safetensors")));

  // A conflicting option names itself and the checkpoint's value.
  const auto lr = run("train --resume '" + path("run.ckpt") + "' --lr 0.5");
  EXPECT_EQ(lr.code, 2) << lr.out;
  EXPECT_NE(lr.out.find("--lr 0.5 conflicts with the checkpoint"), std::string::npos) << lr.out;
  const auto hidden = run("train --resume '" + path("run.ckpt") + "' --hidden 9");
  EXPECT_EQ(hidden.code, 2) << hidden.out;
  EXPECT_NE(hidden.out.find("--hidden 9 conflicts with the checkpoint"), std::string::npos) << hidden.out;
}

TEST_F(CliCheckpoint, DamagedCheckpointsAndTreeLearnersAreRefused) {
  std::ofstream(path("bad.ckpt"), std::ios::binary) << "not a checkpoint at all";
  const auto bad = run("train --resume '" + path("bad.ckpt") + "'");
  EXPECT_EQ(bad.code, 4) << bad.out;
  EXPECT_NE(bad.out.find("backprop: error: " + path("bad.ckpt")), std::string::npos) << bad.out;

  const std::string sonar = bp::testing::repo_data("Sonar.csv");
  const auto forest = run("train --data '" + sonar + "' --model random-forest --checkpoint '" + path("f.ckpt") + "'");
  EXPECT_EQ(forest.code, 2) << forest.out;
  EXPECT_NE(forest.out.find("take no checkpoints"), std::string::npos) << forest.out;

  const auto every = run("train --data '" + sonar + "' --checkpoint-every 5steps");
  EXPECT_EQ(every.code, 2) << every.out;
  const auto unit = run("train --data '" + sonar + "' --checkpoint '" + path("c.ckpt") + "' --checkpoint-every 5min");
  EXPECT_EQ(unit.code, 2) << unit.out;
  EXPECT_NE(unit.out.find("--checkpoint-every: '5min'"), std::string::npos) << unit.out;
}

}  // namespace
