// libFuzzer harness: bytes → safetensors container → model file (load_model: format version,
// metadata, architecture, weights, cross-checks, one forward pass). A model file is user input:
// only ModelFileError may escape; a crash, sanitizer report, hang or other exception is a bug.
//
// The first byte chooses whether the checksums are compared: with them, almost every mutation
// stops at "fails its checksum", so half the inputs skip the comparison (the checksums entry is
// still parsed) to reach the metadata checks behind it.
#include <cstdint>
#include <cstdlib>

#include "backprop/io/model_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool verify = (data[0] & 1) == 0;
  try {
    const bp::io::SafeTensorsFile f = bp::io::parse_safetensors(data + 1, size - 1, "fuzz.safetensors", verify);
    if (verify && f.has_checksums) {
      // Verified files are what the writer wrote: tensor names are unique and non-empty.
      for (const auto& [name, t] : f.tensors)
        if (name.empty() || !t.defined()) std::abort();
    }
    const bp::io::ModelFile m = bp::io::load_model("fuzz.safetensors", f);
    if (!m.module || m.module->training()) std::abort();
  } catch (const bp::io::ModelFileError&) {
  }
  return 0;
}
