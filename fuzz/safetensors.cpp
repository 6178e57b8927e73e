// Fuzz target: .safetensors header and offsets (io/safetensors.hpp): open, list, and read
// every tensor (as float where the dtype allows, as bytes otherwise).
#include <actatlas/io/safetensors.hpp>

#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace actatlas;
  const auto path = fuzz::write_input(data, size, "input.safetensors");
  try {
    io::safetensors_file f(path);
    for (const auto& e : f.tensors()) {
      (void)f.read_bytes(e.name);
      try {
        (void)f.read_float(e.name);
      } catch (const input_error&) {  // a dtype that is not floating point
      }
    }
    for (const auto& [k, v] : f.metadata()) (void)(k.size() + v.size());
  } catch (const input_error&) {
  }
  return 0;
}
