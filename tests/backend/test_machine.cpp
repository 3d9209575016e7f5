// What the machine report says: the BLAS's kernel set and the rule that flags a BLAS running
// older kernels than the processor (the workplace's OPENBLAS_CORETYPE=Haswell on AVX-512).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "backprop/backend/backend.hpp"

namespace {

using bp::backend::blas_core_note;

TEST(MachineInfo, NamesTheKernelSetTheBlasReports) {
  const bp::backend::MachineInfo m = bp::backend::machine_info();
  ASSERT_FALSE(m.blas_core.empty());
  // OpenBLAS's configuration string names the core it runs (DYNAMIC_ARCH builds: the chosen one).
  EXPECT_NE(m.blas.find(m.blas_core), std::string::npos) << m.blas << " / " << m.blas_core;
  EXPECT_FALSE(m.cpu_isa.empty());
  const char* forced = std::getenv("OPENBLAS_CORETYPE");
  if (forced != nullptr) {
    EXPECT_NE(m.blas_env.find(std::string("OPENBLAS_CORETYPE=") + forced), std::string::npos);
  }
  EXPECT_EQ(m.note, blas_core_note(m.blas_core, m.cpu_isa.find("avx512f") != std::string::npos, forced));
}

TEST(MachineInfo, FlagsAvx2KernelsOnAnAvx512Cpu) {
  const std::string forced = blas_core_note("Haswell", true, "Haswell");
  EXPECT_NE(forced.find("OPENBLAS_CORETYPE=Haswell"), std::string::npos) << forced;
  EXPECT_NE(forced.find("AVX-512"), std::string::npos);
  const std::string chosen = blas_core_note("Zen", true, nullptr);
  EXPECT_NE(chosen.find("Zen"), std::string::npos) << chosen;
  EXPECT_EQ(chosen.find("unset"), std::string::npos) << "nothing to unset when the environment forces nothing";
  EXPECT_EQ(blas_core_note("Zen", true, ""), chosen) << "an empty OPENBLAS_CORETYPE forces nothing";
}

TEST(MachineInfo, SaysNothingWhenTheKernelsFitTheCpu) {
  EXPECT_EQ(blas_core_note("SkylakeX", true, nullptr), "");
  EXPECT_EQ(blas_core_note("Cooperlake", true, "Cooperlake"), "");
  EXPECT_EQ(blas_core_note("SapphireRapids", true, nullptr), "");
  EXPECT_EQ(blas_core_note("Haswell", false, "Haswell"), "") << "AVX2 kernels are the best an AVX2 processor runs";
}

}  // namespace
