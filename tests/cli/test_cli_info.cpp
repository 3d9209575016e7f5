// `backprop info`: the version, the BLAS and its kernels, and the note when they are older than
// the processor.
#include <gtest/gtest.h>

#include <string>

#include "backprop/backend/backend.hpp"
#include "cli_test_util.hpp"

namespace {

TEST(CliInfo, PrintsTheBlasKernelsAndTheNoteWhenThereIsOne) {
  const auto r = bp::testing::cli::run("info");
  ASSERT_EQ(r.code, 0) << r.out;
  const bp::backend::MachineInfo m = bp::backend::machine_info();
  EXPECT_NE(r.out.find("BLAS kernels: " + m.blas_core), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("note: ") != std::string::npos, !m.note.empty()) << r.out;
  const auto j = bp::testing::cli::run("info --json");
  ASSERT_EQ(j.code, 0) << j.out;
  EXPECT_NE(j.out.find("\"blas_core\": \"" + m.blas_core + "\""), std::string::npos) << j.out;
}

}  // namespace
