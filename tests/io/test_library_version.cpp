// The library's version (util/version.hpp, generated from project(VERSION)) and the model
// files that record it: every file says which release wrote it, and that entry is covered by
// the header checksum like every other (docs/library.md, docs/model-files.md).
#include <gtest/gtest.h>

#include <string>

#include "backprop/io/model_file.hpp"
#include "backprop/nn/models.hpp"
#include "backprop/util/version.hpp"
#include "io_test_util.hpp"

namespace {

namespace io = bp::io;
namespace it = bp::iotest;

TEST(LibraryVersion, TheHeaderTheLibraryAndTheModelFilesAgree) {
  const std::string parts = std::to_string(BACKPROP_VERSION_MAJOR) + "." + std::to_string(BACKPROP_VERSION_MINOR) +
                            "." + std::to_string(BACKPROP_VERSION_PATCH);
  EXPECT_EQ(std::string(BACKPROP_VERSION_STRING), parts);
  EXPECT_EQ(std::string(bp::kVersion), parts);
  EXPECT_EQ(std::string(bp::library_version()), parts) << "the linked library is another release than its headers";
  EXPECT_EQ(std::string(io::kLibraryVersion), parts);
  EXPECT_EQ(BACKPROP_VERSION_NUMBER,
            BACKPROP_VERSION_MAJOR * 10000 + BACKPROP_VERSION_MINOR * 100 + BACKPROP_VERSION_PATCH);
  EXPECT_LT(BACKPROP_VERSION_MINOR, 100);
  EXPECT_LT(BACKPROP_VERSION_PATCH, 100);
}

TEST(LibraryVersion, EveryModelFileRecordsItUnderItsChecksum) {
  it::TempDir dir;
  auto net = bp::nn::make_mlp({.inputs = 3, .hidden = {4}, .outputs = 1, .task = bp::Task::Binary, .seed = 5});
  const auto path = dir / "m.safetensors";
  io::save_model(path, *net, {.task = bp::Task::Binary});
  EXPECT_EQ(io::read_safetensors(path).metadata.at("backprop.library_version"), bp::kVersion);
  EXPECT_EQ(io::load_model(path).library_version, bp::kVersion);

  // Edited by hand (a file passed off as another release's): the header checksum refuses it.
  const it::Parts parts = it::split(it::read_bytes(path));
  nlohmann::ordered_json h = parts.json();
  h["__metadata__"]["backprop.library_version"] = "9.9.9";
  std::string text = h.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const auto bad = dir / "bad.safetensors";
  it::write_bytes(bad, it::join(text, parts.data));
  it::expect_refused([&] { io::load_model(bad); }, bad, "the header fails its checksum");
}

}  // namespace
