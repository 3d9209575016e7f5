// `backprop info`: the version, the BLAS and its kernels, and the note when they are older than
// the processor.
#include <gtest/gtest.h>

#include <string>

#include "backprop/backend/backend.hpp"
#include "backprop/backend/dnnl_conv.hpp"
#include "backprop/backend/qgemm.hpp"
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

TEST(CliInfo, SaysWhichConvolutionsAndQuantizedKernelsRun) {
  const auto r = bp::testing::cli::run("info");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string conv = bp::backend::conv_engine_line();
  ASSERT_EQ(conv.rfind("convolutions ", 0), 0u) << conv;
  EXPECT_NE(r.out.find("convolutions: " + conv.substr(13) + "\n"), std::string::npos) << r.out;
  const std::string int8 = bp::backend::qgemm_native_int8() ? "int8 avx512_vnni" : "int8 portable";
  EXPECT_NE(r.out.find("quantized:    bf16 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(int8), std::string::npos) << r.out;
  const auto j = bp::testing::cli::run("info --json");
  ASSERT_EQ(j.code, 0) << j.out;
  EXPECT_NE(j.out.find("\"convolutions\": \"" + bp::backend::conv_engine_line() + "\""), std::string::npos) << j.out;
  EXPECT_NE(j.out.find("\"quantized_kernels\": "), std::string::npos) << j.out;
}

}  // namespace
