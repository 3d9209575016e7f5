// libFuzzer harness: bytes → IDX array (plain or gzip) → float tensor. Only DataError may
// escape; a crash, sanitizer report, hang or broken invariant is a bug.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "backprop/data/idx.hpp"

using namespace bp::data;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    // A 16 MiB cap keeps each run fast; the limit logic is the same at 1 GiB.
    const IdxArray a = parse_idx(data, size, "fuzz.idx", int64_t{1} << 24);
    int64_t numel = 1;
    for (int64_t d : a.dims) numel *= d;
    if (numel != a.numel() || a.bytes.size() != static_cast<size_t>(numel) * idx_type_size(a.type)) {
      std::fprintf(stderr, "invariant broken: sizes\n");
      std::abort();
    }
    const bp::Tensor t = a.to_tensor(1.f / 255.f);
    if (!t.all_finite()) std::abort();
  } catch (const DataError&) {
  }
  return 0;
}
