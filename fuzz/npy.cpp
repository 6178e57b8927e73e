// Fuzz target: .npy headers and data (io/npy.hpp) through every reader: read_npy of each
// element type and rank the stages read, mapped_npy, and the bare header parser.
#include <actatlas/io/npy.hpp>

#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace actatlas;
  const auto path = fuzz::write_input(data, size, "input.npy");
  try {
    (void)io::detail::parse_npy_header(reinterpret_cast<const char*>(data), size, "input");
  } catch (const input_error&) {
  }
  try {
    (void)io::read_npy<float, 2>(path);
  } catch (const input_error&) {
  }
  try {
    (void)io::read_npy<std::int64_t, 1>(path);
  } catch (const input_error&) {
  }
  try {
    (void)io::read_npy<std::int32_t, 2>(path);
  } catch (const input_error&) {
  }
  try {
    io::mapped_npy m(path);
    (void)m.view();
  } catch (const input_error&) {
  }
  return 0;
}
